"""Routes the analyser page needs besides analysis: the model's settings and, when allowed, fetching a URL.

``POST /api/v1/fetch`` is off unless the server was started with ``--allow-fetch`` (a public server must not
be an open proxy); the download itself is ``propscope.crawl.fetch_article``, imported when first used.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from .. import __version__
from ..errors import InputError
from ..schema import Analysis, Article
from .access import RateLimiter, ServeOptions, require_token

API_PREFIX = "/api/v1"


class ModelInfo(BaseModel):
    """The model and the server's settings, as the page needs them."""

    model: str = Field(description="name and version of the detector, as in Analysis.model")
    version: str = Field(description="propscope version")
    decision_threshold: float | None = Field(
        description="the model's decision threshold on the span confidence scale (Span.confidence: the "
                    "estimated probability that a gold span with this technique overlaps the span): the "
                    "model reports the labels from here on, and the page's confidence slider starts here")
    max_body_bytes: int = Field(description="larger request bodies get 413")
    allow_fetch: bool = Field(description="POST /api/v1/fetch is on (server started with --allow-fetch)")
    token_required: bool = Field(description="analysis and fetches need 'Authorization: Bearer TOKEN'")


class FetchRequest(BaseModel):
    """A web page for the server to download and analyse."""

    model_config = ConfigDict(extra="forbid",
                              json_schema_extra={"examples": [{"url": "https://example.org/story"}]})

    url: str = Field(description="http(s) address of a news page", max_length=2048)


def decision_threshold(detector: Any) -> float | None:
    """The detector's decision threshold on the confidence scale (``min_confidence`` of its decode
    settings), None when it has none."""
    value = getattr(detector, "decision_threshold", None)
    if value is None:
        config = getattr(getattr(detector, "core", None), "config", None)
        value = getattr(config, "min_confidence", None)
    return float(value) if isinstance(value, int | float) else None


FETCH_OFF = ("fetching URLs is off on this server: start it with `propscope serve --allow-fetch` to let it "
             "download pages (then private and loopback addresses stay refused unless --allow-private); "
             "or paste the article's text instead")


def make_router(current_detector: Callable[[Request], Any],
                analyse_article: Callable[[Article, Any, Any], dict[str, Any]]) -> APIRouter:
    """The routes, given how the app finds its detector and turns an Article into Analysis JSON."""
    router = APIRouter()

    @router.get(f"{API_PREFIX}/model", response_model=ModelInfo, tags=["api"],
                summary="The model, its decision threshold and what this server allows")
    async def model_info(request: Request) -> ModelInfo:
        det = current_detector(request)
        options: ServeOptions = request.app.state.options
        return ModelInfo(model=det.name, version=__version__, decision_threshold=decision_threshold(det),
                         max_body_bytes=request.app.state.max_body_bytes, allow_fetch=options.allow_fetch,
                         token_required=options.token is not None)

    @router.post(f"{API_PREFIX}/fetch", response_model=Analysis, tags=["api"],
                 summary="Download a page and analyse its article (only with --allow-fetch)",
                 responses={401: {"description": "Token missing or wrong"},
                            403: {"description": "Fetching is off on this server"},
                            422: {"description": "Not an http(s) URL, refused address or no article"},
                            429: {"description": "Too many fetches from this client; see Retry-After"},
                            502: {"description": "The page could not be downloaded"}})
    async def fetch(req: FetchRequest, request: Request) -> JSONResponse:
        options: ServeOptions = request.app.state.options
        if not options.allow_fetch:
            raise HTTPException(status_code=403, detail=FETCH_OFF)
        require_token(request)
        parts = urlsplit(req.url.strip())
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            raise HTTPException(status_code=422, detail=f"url: {req.url[:200]!r} is not an http(s) address")
        limiter: RateLimiter = request.app.state.fetch_limiter
        client = request.client.host if request.client else "?"
        wait = limiter.check(client)
        if wait:
            raise HTTPException(status_code=429, headers={"Retry-After": str(int(wait) + 1)},
                                detail=f"too many fetches: at most {limiter.per_minute} a minute from one "
                                       f"client; try again in {int(wait) + 1} s")
        try:
            from ..crawl import fetch_article  # the crawl work's fetcher; imported only when used
        except ImportError as e:
            raise HTTPException(status_code=501,
                                detail=f"this propscope has no page fetcher (propscope.crawl: {e})") from None
        try:
            article = await run_in_threadpool(fetch_article, req.url.strip(),
                                              allow_private=options.allow_private)
        except InputError as e:
            if getattr(e, "unreachable", False):  # crawl's FetchError: no connection to the host at all
                raise HTTPException(status_code=502, detail=f"could not fetch {e.source[:200]}: {e.reason}"
                                    [:500]) from None
            raise  # 422 with its reason (refused address, HTTP error, not an article...)
        except Exception as e:  # noqa: BLE001 - any download failure is the client's answer
            detail = f"could not fetch {req.url[:200]}: {e}"[:500]
            raise HTTPException(status_code=502, detail=detail) from None
        det = current_detector(request)
        payload = await run_in_threadpool(analyse_article, article, det, request.app.state.detect_gate)
        return JSONResponse(payload)

    return router
