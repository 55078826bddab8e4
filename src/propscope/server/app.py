"""The FastAPI application behind `propscope serve`: a REST API and the web page that highlights techniques.

``create_app(detector)`` builds the app; the detector is loaded once at start-up when none is given.
Every response body of the API is JSON; analyses are exactly ``Analysis.model_dump(mode="json")``, the
same JSON as ``propscope analyze`` prints.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict, Field, model_validator
from starlette.exceptions import HTTPException as StarletteHTTPException

from .. import __version__
from ..detect.base import Detector, load_detector
from ..errors import InputError
from ..pipeline import MAX_ARTICLE_CHARS, AnalysisCancelled
from ..schema import Analysis, Article
from ..techniques import all_techniques
from .access import RateLimiter, ServeOptions, require_token
from .routes_corpus import answer_cache, make_corpus_router, warm_up
from .routes_page import make_router

STATIC_DIR = Path(__file__).resolve().parent / "static"
DEFAULT_MAX_BODY_BYTES = 2_000_000
DEFAULT_REQUEST_TIMEOUT = 120.0
"""Seconds an analysis may take before the request gets 503 and the analysis stops (docs/limits.md)."""
DEFAULT_BODY_TIMEOUT = 30.0
"""Seconds a client may pause while sending a request body before it gets 408 and is disconnected."""
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
API_PREFIX = "/api/v1"

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

# The page and its files may only load themselves: no inline script, no remote anything.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


# --------------------------------------------------------------------------------------------------------
# Request / response models
# --------------------------------------------------------------------------------------------------------


class AnalyzeRequest(BaseModel):
    """One article to analyse: give exactly one of ``text`` or ``html``."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"text": "Putin hopes terrorists in Idlib will wisen up\n\nRussian President ...",
                 "title": None, "url": None},
                {"html": "<html><head><title>A story</title></head><body><p>...</p></body></html>",
                 "url": "https://example.org/story"},
            ]
        },
    )

    text: str | None = Field(default=None,
                             description="Plain text of the article (title line, blank line, body).")
    html: str | None = Field(default=None,
                             description="HTML of a news page; the article is extracted from it.")
    title: str | None = Field(default=None, description="Title, when not given by the text's first line.")
    url: str | None = Field(default=None, description="Where the article comes from, reported back as is.")
    id: str | None = Field(default=None, description="Article id to report; default: a hash of the input.")
    clean: bool = Field(default=True, description="Remove page leftovers (cookie notices, share bars...).")
    lang: str | None = Field(default=None, max_length=16, description=(
        "Language of the article (ISO 639-1, e.g. 'en'); default: identified from the text. The model is "
        "English-only: other languages get a warning in article.warnings."))

    @model_validator(mode="after")
    def _exactly_one_input(self) -> AnalyzeRequest:
        if self.text is None and self.html is None:
            raise ValueError("give the article as 'text' or as 'html' (neither was given)")
        if self.text is not None and self.html is not None:
            raise ValueError("give the article as 'text' or as 'html', not both")
        given = "text" if self.text is not None else "html"
        if not (self.text if self.text is not None else self.html or "").strip():
            raise ValueError(f"'{given}' is empty: there is no article to analyse")
        return self


class TechniqueInfo(BaseModel):
    name: str = Field(description="PTC label, as used in Span.technique")
    label: str
    definition: str
    colour: str = Field(description="CSS colour, #rrggbb")
    short: str = Field(description="one-word label shown on each highlighted span")


class Health(BaseModel):
    status: str
    model: str
    version: str
    max_body_bytes: int


class ErrorBody(BaseModel):
    detail: str
    errors: list[dict[str, Any]] | None = None


# --------------------------------------------------------------------------------------------------------
# ASGI middleware
# --------------------------------------------------------------------------------------------------------


def _json_message(status: int, payload: dict[str, Any], extra_headers: list[tuple[bytes, bytes]] = ()):
    body = json.dumps(payload).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
               *extra_headers]
    return ({"type": "http.response.start", "status": status, "headers": headers},
            {"type": "http.response.body", "body": body, "more_body": False})


class BodyLimitMiddleware:
    """Refuses request bodies over ``max_body_bytes`` with 413 and a JSON error.

    The limit holds for the declared Content-Length and for the bytes actually received, so a chunked
    request without Content-Length is stopped too. The body is read here (at most the limit) and handed on
    to the app in one piece. After a 413 the rest of the upload is read and dropped, up to ``drain_bytes``,
    so that an ordinary client that sends the whole body before it reads the answer still sees the 413;
    past that the connection is closed. A client that stops sending for ``body_timeout`` seconds (a body
    shorter than its Content-Length, a stalled upload) gets 408 and the connection is closed.
    """

    def __init__(self, app, max_body_bytes: int = DEFAULT_MAX_BODY_BYTES, drain_bytes: int | None = None,
                 body_timeout: float = DEFAULT_BODY_TIMEOUT):
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.drain_bytes = drain_bytes if drain_bytes is not None else max(16_000_000, 4 * max_body_bytes)
        self.body_timeout = body_timeout

    async def _reply_413(self, receive: Receive, send: Send, received: int, more_body: bool,
                         drain: bool = True) -> None:
        # Read (and drop) the rest of the upload first: closing a socket that still has unread data makes
        # the kernel reset the connection, and the client would never see the answer.
        while drain and more_body and received <= self.drain_bytes:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            received += len(message.get("body", b""))
            more_body = message.get("more_body", False)
        detail = f"request body is larger than the {self.max_body_bytes}-byte limit"
        start, body = _json_message(413, {"detail": detail}, [(b"connection", b"close")] if more_body else [])
        await send(start)
        await send(body)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None:
            try:
                size = int(declared)
            except ValueError:
                start, body = _json_message(400, {"detail": "Content-Length is not a number"})
                await send(start)
                await send(body)
                return
            if size > self.max_body_bytes:
                # A client that waits for "100 Continue" gets the answer before it sends anything.
                expects = headers.get(b"expect", b"").lower() == b"100-continue"
                await self._reply_413(receive, send, 0, True, drain=not expects)
                return
            if size == 0:
                await self.app(scope, receive, send)
                return
        elif b"transfer-encoding" not in headers:
            await self.app(scope, receive, send)  # no body at all (GET, HEAD...)
            return

        chunks: list[bytes] = []
        received = 0
        while True:
            try:
                message = await asyncio.wait_for(receive(), self.body_timeout)
            except TimeoutError:
                detail = f"the request body stalled (nothing received for {self.body_timeout:g} s)"
                start, body = _json_message(408, {"detail": detail}, [(b"connection", b"close")])
                await send(start)
                await send(body)
                return
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            received += len(chunk)
            more_body = message.get("more_body", False)
            if received > self.max_body_bytes:
                await self._reply_413(receive, send, received, more_body)
                return
            chunks.append(chunk)
            if not more_body:
                break

        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


class HostCheckMiddleware:
    """Answers 400 to requests whose Host header is not one of ``allowed_hosts`` (port ignored), so that a
    web page on another site cannot reach a server on 127.0.0.1 through a DNS name of its own (DNS
    rebinding). ``"*"`` allows any host."""

    def __init__(self, app, allowed_hosts: tuple[str, ...] = LOOPBACK_HOSTS):
        self.app = app
        self.allowed = {h.lower().strip("[]") for h in allowed_hosts}

    @staticmethod
    def host_name(value: str) -> str:
        value = value.strip().lower()
        if value.startswith("["):  # [::1]:8000
            return value[1:].split("]", 1)[0]
        return value.rsplit(":", 1)[0] if value.count(":") == 1 else value

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or "*" in self.allowed:
            await self.app(scope, receive, send)
            return
        raw = dict(scope.get("headers") or []).get(b"host", b"").decode("latin-1")
        if self.host_name(raw) not in self.allowed:
            detail = (f"host {raw!r} is not served here; allowed: {', '.join(sorted(self.allowed))} "
                      "(propscope serve --allowed-host)")
            start, body = _json_message(400, {"detail": detail})
            await send(start)
            await send(body)
            return
        await self.app(scope, receive, send)


class SecurityHeadersMiddleware:
    """Adds nosniff, no-referrer and a strict Content-Security-Policy to every response."""

    def __init__(self, app, skip_csp: tuple[str, ...] = ()):
        self.app = app
        self.skip_csp = skip_csp

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        csp = not (self.skip_csp and scope.get("path", "").startswith(self.skip_csp))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"x-content-type-options", b"nosniff"))
                headers.append((b"referrer-policy", b"no-referrer"))
                if csp:
                    headers.append((b"content-security-policy", CONTENT_SECURITY_POLICY.encode()))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


# --------------------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------------------


def _describe_error(err: dict[str, Any]) -> str:
    if err.get("type") == "json_invalid":
        ctx = err.get("ctx") or {}
        loc = err.get("loc") or ()
        pos = loc[1] if len(loc) > 1 else None
        where = f" at character {pos}" if isinstance(pos, int) else ""
        return f"the request body is not valid JSON: {ctx.get('error', 'decode error')}{where}"
    loc = [str(p) for p in err.get("loc", ()) if p != "body"]
    msg = str(err.get("msg", "invalid"))
    msg = msg.removeprefix("Value error, ")
    if err.get("type") == "model_attributes_type" or (not loc and "valid dictionary" in msg):
        return 'the request body must be a JSON object such as {"text": "..."}'
    if err.get("type") == "extra_forbidden":
        return f"unknown field '{'.'.join(loc)}' (known: text, html, title, url, id, clean, lang)"
    return f"{'.'.join(loc)}: {msg}" if loc else msg


async def _validation_error_handler(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = [{k: v for k, v in e.items() if k in ("type", "loc", "msg")} for e in exc.errors()]
    detail = "; ".join(dict.fromkeys(_describe_error(e) for e in exc.errors()))
    return JSONResponse({"detail": detail or "invalid request", "errors": errors}, status_code=422)


async def _input_error_handler(request: Request, exc: InputError) -> JSONResponse:
    return JSONResponse({"detail": exc.reason}, status_code=422)


async def _http_error_handler(request: Request, exc: StarletteHTTPException):
    # FastAPI answers 400 "There was an error parsing the body" when json.loads fails outside pydantic, as it
    # does on deeply nested JSON (RecursionError); the API promises 422 for every malformed body.
    if exc.status_code == 400 and "parsing the body" in str(exc.detail):
        detail = "the request body is not valid JSON (or is nested too deeply to read)"
        return JSONResponse({"detail": detail}, status_code=422)
    return await http_exception_handler(request, exc)


async def _cancelled_handler(request: Request, exc: AnalysisCancelled) -> JSONResponse:
    return JSONResponse({"detail": "the analysis was stopped: the server is shutting down"}, status_code=503)


def stop_analyses(app) -> None:
    """Make every running analysis stop at its next segment (their requests get 503); for shutdown."""
    for cancel in list(app.state.running):
        cancel.set()


async def _unexpected_error_handler(request: Request, exc: Exception) -> JSONResponse:
    # The traceback still goes to the server log; the client gets JSON it can show.
    return JSONResponse({"detail": f"internal error: {type(exc).__name__}: {exc}"[:500]}, status_code=500)


# --------------------------------------------------------------------------------------------------------
# The app
# --------------------------------------------------------------------------------------------------------


def default_concurrency() -> int:
    env = os.environ.get("PROPSCOPE_SERVE_CONCURRENCY")
    if env:
        return max(1, int(env))
    return max(1, min(8, 2 * (os.cpu_count() or 1)))


def _article_id(req: AnalyzeRequest) -> str:
    if req.id:
        return req.id
    data = (req.text if req.text is not None else req.html or "").encode("utf-8", "surrogatepass")
    return "api-" + hashlib.sha1(data).hexdigest()[:12]


def _analyze(req: AnalyzeRequest, detector: Detector, gate: threading.Semaphore,
             cancel: threading.Event | None = None, max_chars: int | None = MAX_ARTICLE_CHARS,
             ) -> dict[str, Any]:
    """Read, detect, build the Analysis JSON. Runs in a worker thread (CPU-bound); stops with
    AnalysisCancelled soon after ``cancel`` is set (between segments of a long article)."""
    from ..read import article_from_html, article_from_text

    aid = _article_id(req)
    if req.text is not None:
        article = article_from_text(req.text, id=aid, title=req.title, url=req.url, source="api",
                                    clean=req.clean)
    else:
        article = article_from_html(req.html or "", id=aid, url=req.url, source="api", clean=req.clean)
        if req.title:
            article = article.model_copy(update={"title": req.title})
    return _analyse_article(article, detector, gate, cancel, max_chars, req.lang)


def _analyse_article(article: Article, detector: Detector, gate: threading.Semaphore,
                     cancel: threading.Event | None = None, max_chars: int | None = MAX_ARTICLE_CHARS,
                     lang: str | None = None) -> dict[str, Any]:
    """Detect (at most ``gate`` at once, stopping soon after ``cancel`` is set) and build the Analysis JSON
    of one article."""
    from ..pipeline import check_length, detect_text, to_analysis

    cancel = cancel or threading.Event()
    check_length(article, max_chars, option="propscope serve --max-chars")
    while not gate.acquire(timeout=0.2):
        if cancel.is_set():
            raise AnalysisCancelled("analysis cancelled")
    try:
        predictions = detect_text(detector, article.text, cancelled=cancel.is_set)
    finally:
        gate.release()
    analysis: Analysis = to_analysis(article, predictions, detector.name, lang=lang)
    return analysis.model_dump(mode="json")


async def _run_cancellable(request: Request, work: Callable[[threading.Event], dict[str, Any]],
                           timeout: float) -> JSONResponse:
    """Run ``work(cancel)`` in a worker thread; set ``cancel`` when the client goes away, when ``timeout``
    seconds pass (503), or when the server stops (the task is cancelled), so no analysis outlives its use."""
    cancel = threading.Event()
    running: set[threading.Event] = request.app.state.running
    running.add(cancel)
    task = asyncio.ensure_future(run_in_threadpool(work, cancel))
    deadline = time.monotonic() + timeout
    try:
        while True:
            done, _ = await asyncio.wait({task}, timeout=0.25)
            if done:
                return JSONResponse(task.result())
            if await request.is_disconnected():
                return JSONResponse({"detail": "client disconnected"}, status_code=499)
            if time.monotonic() > deadline:
                detail = (f"the analysis took longer than the {timeout:g}-second limit and was stopped; send "
                          "a shorter article (propscope serve --request-timeout raises the limit)")
                return JSONResponse({"detail": detail}, status_code=503)
    except asyncio.CancelledError:
        # uvicorn cancels the requests still running a few seconds after Ctrl+C (propscope serve): answer
        # instead of logging a traceback; the analysis stops at its next segment.
        return JSONResponse({"detail": "the analysis was stopped: the server is shutting down"},
                            status_code=503)
    finally:
        running.discard(cancel)
        if not task.done():
            cancel.set()
            task.add_done_callback(lambda t: t.cancelled() or t.exception())


def create_app(
    detector: Detector | None = None,
    *,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    model_dir: str | os.PathLike[str] | None = None,
    concurrent_analyses: int | None = None,
    options: ServeOptions | None = None,
    corpus: Any = None,
    allowed_hosts: tuple[str, ...] | None = None,
    request_timeout: float = DEFAULT_REQUEST_TIMEOUT,
    body_timeout: float = DEFAULT_BODY_TIMEOUT,
    max_chars: int | None = MAX_ARTICLE_CHARS,
):
    """Build the app. ``detector`` is used as is; when None, ``load_detector(model_dir)`` runs once at
    start-up (and raises ModelNotInstalledError when no model is installed). At most
    ``concurrent_analyses`` analyses run at the same time (default: $PROPSCOPE_SERVE_CONCURRENCY, else
    twice the CPU count, at most 8); the others wait their turn. ``options``: token, URL fetching (off by
    default), see ``propscope.server.access``. ``allowed_hosts`` (None: no check) are the
    host names the Host header may carry; ``request_timeout`` bounds an analysis (503 past it),
    ``body_timeout`` a pause in an upload (408), ``max_chars`` an article's length (422): docs/limits.md.
    ``corpus``: an open ``propscope.Corpus`` for the Explore view and /api/v1/corpus (None: the page says
    how to make a store)."""
    if concurrent_analyses is None:
        concurrent_analyses = default_concurrency()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if app.state.detector is None:
            app.state.detector = await run_in_threadpool(load_detector, model_dir)
        warming = asyncio.create_task(warm_up(app))  # the Explore view's first answers, in the background
        yield
        warming.cancel()
        stop_analyses(app)  # stop what still runs, so the process can exit

    app = FastAPI(
        title="propscope",
        version=__version__,
        description=(
            "Find the 14 propaganda techniques of the Propaganda Techniques Corpus (SemEval-2020 Task 11) "
            "in news articles. `POST /api/v1/analyze` returns the same Analysis JSON as "
            "`propscope analyze`. The web page is at `/`."
        ),
        lifespan=lifespan,
        docs_url=None,  # /docs is the offline reference below (Swagger UI and ReDoc would need a CDN)
        redoc_url=None,
    )
    app.state.detector = detector
    # A few analyses at once overlap tokenising and decoding with the model's own threads; many more only
    # pile up memory and make each one slower (see docs/serve.md, load benchmark).
    app.state.concurrent_analyses = max(1, concurrent_analyses)
    app.state.detect_gate = threading.BoundedSemaphore(max(1, concurrent_analyses))
    app.state.max_body_bytes = max_body_bytes
    app.state.options = options = options or ServeOptions()
    app.state.fetch_limiter = RateLimiter(options.fetches_per_minute)
    app.state.corpus = corpus
    app.state.corpus_cache = answer_cache(corpus)
    app.state.running = set()

    app.add_exception_handler(RequestValidationError, _validation_error_handler)
    app.add_exception_handler(InputError, _input_error_handler)
    app.add_exception_handler(StarletteHTTPException, _http_error_handler)
    app.add_exception_handler(AnalysisCancelled, _cancelled_handler)
    app.add_exception_handler(Exception, _unexpected_error_handler)
    app.add_middleware(BodyLimitMiddleware, max_body_bytes=max_body_bytes, body_timeout=body_timeout)
    app.add_middleware(SecurityHeadersMiddleware)
    app.state.allowed_hosts = allowed_hosts
    if allowed_hosts is not None:
        app.add_middleware(HostCheckMiddleware, allowed_hosts=tuple(allowed_hosts))

    def current_detector(request: Request) -> Detector:
        det = request.app.state.detector
        if det is None:  # only without the lifespan (a TestClient used outside `with`)
            det = request.app.state.detector = load_detector(model_dir)
        return det

    error_responses: dict[int | str, dict[str, Any]] = {
        413: {"model": ErrorBody, "description": "Body larger than the limit"},
        422: {"model": ErrorBody, "description": "Malformed JSON, wrong fields or unusable article"},
    }

    @app.post(f"{API_PREFIX}/analyze", response_model=Analysis, responses=error_responses,
              summary="Find propaganda techniques in one article", tags=["api"],
              dependencies=[Depends(require_token)])
    async def analyze(req: AnalyzeRequest, request: Request) -> JSONResponse:
        det, gate = current_detector(request), request.app.state.detect_gate
        return await _run_cancellable(request, lambda cancel: _analyze(req, det, gate, cancel, max_chars),
                                      request_timeout)

    @app.get(f"{API_PREFIX}/techniques", response_model=list[TechniqueInfo],
             summary="The 14 PTC techniques with label, definition and colour", tags=["api"])
    async def techniques() -> list[TechniqueInfo]:
        return [TechniqueInfo(name=t.name, label=t.label, definition=t.definition, colour=t.colour,
                              short=t.short) for t in all_techniques()]

    @app.get("/healthz", response_model=Health, summary="Liveness, model name and limits", tags=["ops"])
    async def healthz(request: Request) -> Health:
        det = current_detector(request)
        return Health(status="ok", model=det.name, version=__version__,
                      max_body_bytes=request.app.state.max_body_bytes)

    @app.api_route("/", methods=["GET", "HEAD"], include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", media_type="text/html; charset=utf-8")

    @app.get("/favicon.ico", include_in_schema=False)
    async def favicon() -> FileResponse:
        return FileResponse(STATIC_DIR / "favicon.svg", media_type="image/svg+xml")

    @app.get("/docs", include_in_schema=False)
    async def api_reference() -> FileResponse:
        return FileResponse(STATIC_DIR / "api.html", media_type="text/html; charset=utf-8")

    @app.get("/docs/swagger", include_in_schema=False)
    async def swagger() -> RedirectResponse:  # Swagger UI needed a CDN; the offline reference replaces it
        return RedirectResponse("/docs", status_code=308)

    app.include_router(make_router(current_detector, _analyse_article))
    app.include_router(make_corpus_router())

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app
