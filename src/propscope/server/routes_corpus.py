"""The corpus REST API behind the Explore view: /api/v1/corpus/{stats,articles,articles/{id},
articles/{id}/reuse,outlets,search}.

Every route reads the store given to `propscope serve --db` through ``propscope.Corpus`` (no SQL here) and
takes the CLI's filters as query parameters (``from``, ``to``, ``outlet``, ``orientation``, ``technique``,
``search``, ``min_confidence``), parsed once by ``Filters.from_query``. Without a store the routes answer
404 with the one line that says how to make one. Answers are cached per query until the store changes.
"""

from __future__ import annotations

import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import replace
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from ..corpus.filters import FilterError, Filters
from ..schema import Analysis

API_PREFIX = "/api/v1/corpus"

NO_STORE = ("no corpus store: make one with `propscope ingest FILES...` (it writes ./propscope.db), "
            "then start `propscope serve --db propscope.db`")

NOT_TRACED = "this store has not been traced: run `propscope trace --db {store}` to find text reuse"

BY_VALUES = ("outlet", "orientation", "technique", "day", "week", "month", "year")
SORT_VALUES = ("score", "published", "outlet", "title", "spans", "words", "id")


# --- response models (the OpenAPI document) --------------------------------------------------------------


class CorpusInfo(BaseModel):
    store: str | None = Field(description="the store's path, or its URL without the password; null: none")
    articles: int = Field(description="stored articles")
    hint: str | None = Field(default=None, description="without a store: how to make one")


class StatRow(BaseModel):
    """One group of `propscope stats`: the keys of ``by`` plus the measures (docs/corpus.md)."""

    model_config = {"extra": "allow"}
    articles: int = Field(description="selected articles in the group")
    articles_with: int = Field(description="of them, those with at least one selected span")
    share: float | None = Field(description="articles_with / articles")
    spans: int = Field(description="selected spans")
    words: int = Field(description="words of the group's articles")
    spans_per_1k_words: float | None = Field(description="1000 * spans / words")
    mean_score: float | None = Field(description="mean article score")


class StatsAnswer(BaseModel):
    by: list[str]
    filters: dict[str, Any] = Field(description="the filters as understood by the server")
    rows: list[StatRow]


class ArticleItem(BaseModel):
    id: int = Field(description="store id (GET /api/v1/corpus/articles/{id})")
    ext_id: str = Field(description="the article's id as read")
    title: str | None
    url: str | None
    outlet: str | None
    orientation: str | None
    published: str | None = Field(description="publication date, YYYY-MM-DD")
    words: int
    score: float | None = Field(description="article propaganda score")
    n_spans: int
    model: str
    rank: float | None = Field(default=None,
                               description="full-text relevance (search only; higher is better)")


class ArticlePage(BaseModel):
    total: int = Field(description="selected articles in all")
    offset: int
    limit: int
    sort: str
    filters: dict[str, Any]
    rows: list[ArticleItem]


class StoredArticleAnswer(BaseModel):
    id: int
    outlet: str | None
    orientation: str | None
    published: str | None
    ingested_at: str
    history: list[str] = Field(description="models of older analyses kept in the store")
    analysis: Analysis = Field(description="the current analysis, as `propscope analyze` prints it")


class ReusePassageItem(BaseModel):
    """Two aligned passages: this article's (``start``, ``end``, ``text``) and the other article's."""

    start: int = Field(description="offset in this article's text (end exclusive)")
    end: int
    text: str = Field(description="this article's passage: its text[start:end]")
    other_start: int = Field(description="offset in the other article's text")
    other_end: int
    other_text: str
    similarity: float = Field(description="share of the passage's words matched in order (docs/trace.md)")
    kind: Literal["verbatim", "reworded", "quotation"]


class ReuseItem(BaseModel):
    """A link between this article and another one that shares text with it."""

    id: int = Field(description="the other article's store id")
    title: str | None
    outlet: str | None
    published: str | None = Field(description="the other article's publication date")
    kind: Literal["verbatim", "reworded", "quotation"] = Field(
        description="verbatim copy, light rewording, or shared quotation only (docs/trace.md)")
    direction: Literal["dates", "unknown"] = Field(
        description="dates: the earlier date is the source; unknown: a date is missing or both are equal")
    share: float = Field(description="fraction of this article's characters in aligned passages")
    other_share: float = Field(description="same for the other article")
    similarity: float = Field(description="passage similarity, weighted by passage length")
    passages: list[ReusePassageItem]


class ReuseFamilyItem(BaseModel):
    id: int
    origin: int | None = Field(description="probable origin: the single earliest dated member, if any")
    origin_title: str | None
    origin_published: str | None
    size: int = Field(description="articles in the family")
    links: int = Field(description="reuse links inside the family")


class ArticleReuseAnswer(BaseModel):
    id: int
    traced: bool = Field(description="false: no `propscope trace --db` has been run on this store yet")
    traced_at: str | None = Field(description="when the store was last traced")
    hint: str | None = Field(default=None, description="when not traced: how to trace the store")
    sources: list[ReuseItem] = Field(description="earlier articles whose text this one reuses")
    copies: list[ReuseItem] = Field(description="later articles that reuse this one's text")
    unknown_direction: list[ReuseItem] = Field(
        description="articles sharing text with this one where the dates cannot tell which came first")
    family: ReuseFamilyItem | None = Field(description="the story family of this article, if any")
    offset: int = Field(description="links skipped in each of sources, copies and unknown_direction")
    limit: int = Field(description="at most this many links in each of them")
    totals: dict[str, int] = Field(
        description="links in each of sources, copies and unknown_direction, before offset and limit")


class OutletItem(BaseModel):
    id: int
    name: str
    domain: str | None
    country: str | None
    orientation: str | None
    extra: dict[str, str]
    articles: int


# --- helpers -------------------------------------------------------------------------------------------


class AnswerCache:
    """The last ``size`` answers, keyed by route and query, dropped when the store's version changes (the
    version is read at most every ``check_every`` seconds, so an ingest shows up within that time).

    Concurrent requests for the same key wait for one computation instead of each running the query
    ("single flight"). ``size`` 0 turns caching off (every request runs its query)."""

    def __init__(self, version: Callable[[], Any], size: int = 512, check_every: float = 2.0) -> None:
        self.hits = 0
        self._version = version
        self.size = size
        self._check_every = check_every
        self._checked = 0.0
        self._current: Any = None
        self._items: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
        self._running: dict[tuple[Any, ...], threading.Lock] = {}
        self._lock = threading.Lock()

    def keys(self) -> list[tuple[Any, ...]]:
        with self._lock:
            return list(self._items)

    def _fresh(self) -> None:
        now = time.monotonic()
        if now - self._checked < self._check_every:
            return
        v = self._version()
        with self._lock:
            self._checked = now
            if v != self._current:
                self._current = v
                self._items.clear()

    def get_or_compute(self, key: tuple[Any, ...], compute: Callable[[], Any]) -> Any:
        if self.size <= 0:
            return compute()
        self._fresh()
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                self.hits += 1
                return self._items[key]
            flight = self._running.setdefault(key, threading.Lock())
        with flight:  # the first request computes; the others wait here, then find the answer
            with self._lock:
                if key in self._items:
                    return self._items[key]
            try:
                value = compute()
            finally:
                with self._lock:
                    self._running.pop(key, None)
            with self._lock:
                self._items[key] = value
                while len(self._items) > self.size:
                    self._items.popitem(last=False)
            return value


CACHE_ENV = "PROPSCOPE_CORPUS_CACHE"
"""Number of corpus answers the server keeps (default 512; 0: none, every request runs its query)."""


def answer_cache(corpus: Any) -> AnswerCache:
    """The app's cache of corpus answers, sized by $PROPSCOPE_CORPUS_CACHE."""
    import os

    size = int(os.environ.get(CACHE_ENV) or 512)
    return AnswerCache(corpus.version if corpus is not None else (lambda: None), size=size)


LANDING = ("/stats?by=month&by=technique", "/stats?by=outlet", "/articles?sort=-published&offset=0&limit=20")
"""What the Explore view asks first (besides the two-outlet chart, added by ``warm_up``)."""


async def warm_up(app: Any) -> None:
    """Compute the Explore view's first answers into the cache right after start-up, through the app
    itself (same code, same cache keys), so that the first visitor of a large store does not wait."""
    import httpx

    if app.state.corpus is None or app.state.corpus_cache.size <= 0:
        return
    try:
        await _warm(app, httpx)
    except Exception:  # noqa: BLE001 - only a head start: the requests themselves will report problems
        return


async def _warm(app: Any, httpx: Any) -> None:
    transport = httpx.ASGITransport(app=app)
    names = [h for h in (getattr(app.state, "allowed_hosts", None) or ()) if h != "*"]
    host = names[0] if names else "127.0.0.1"  # a name the Host check lets in
    base = f"http://[{host}]" if ":" in host else f"http://{host}"
    async with httpx.AsyncClient(transport=transport, base_url=base) as client:
        outlets = (await client.get(f"{API_PREFIX}/outlets")).json()
        top = [o["name"] for o in sorted(outlets, key=lambda o: -o["articles"]) if o["articles"] > 0][:2]
        urls = [API_PREFIX, *(API_PREFIX + u for u in LANDING)]
        if len(top) == 2:
            urls.append(f"{API_PREFIX}/stats?" + str(httpx.QueryParams(
                [("by", "outlet"), ("by", "technique"), ("outlet", top[0]), ("outlet", top[1])])))
        for url in urls:
            await client.get(url)


def _corpus(request: Request) -> Any:
    corpus = getattr(request.app.state, "corpus", None)
    if corpus is None:
        raise HTTPException(status_code=404, detail=NO_STORE)
    return corpus


def corpus_filters(
    request: Request,
    date_from: Annotated[str | None, Query(alias="from", description="published on or after: YYYY[-MM[-DD]]",
                                           examples=["2019-01-01"])] = None,
    date_to: Annotated[str | None, Query(alias="to", description="published on or before (`2020-02`: all of "
                                         "February)")] = None,
    outlet: Annotated[list[str] | None, Query(description="outlet name or domain")] = None,
    orientation: Annotated[list[str] | None, Query(description="outlet orientation, e.g. left")]
    = None,
    technique: Annotated[list[str] | None, Query(description="PTC label, readable name or a unique part "
                                                 "(`loaded`, `fear`); selects spans")] = None,
    search: Annotated[str | None, Query(description='full-text: all words, "quoted phrases"')] = None,
    min_confidence: Annotated[float | None, Query(ge=0, le=1, description="only spans with at least this "
                                                  "confidence")] = None,
) -> Filters:
    """The filters of the request, parsed by the one parser the CLI uses (``Filters.from_query``)."""
    params: dict[str, list[str]] = {}
    for key, value in request.query_params.multi_items():
        params.setdefault(key, []).append(value)
    try:
        return Filters.from_query(params)
    except FilterError as e:
        raise HTTPException(status_code=422, detail=str(e).replace("--min-confidence", "min_confidence")
                            .replace("--", "", 1)) from None


FiltersDep = Annotated[Filters, Depends(corpus_filters)]


def _query_key(request: Request) -> tuple[Any, ...]:
    # sorted by name only: the order of a repeated name (by=month&by=technique) changes the answer
    return (request.url.path, tuple(sorted(request.query_params.multi_items(), key=lambda kv: kv[0])))


async def _answer(request: Request, compute: Callable[[Any], Any]) -> Response:
    """The JSON of ``compute(corpus)``, run in a worker thread through the answer cache (which keeps the
    encoded bytes: a cached answer costs no validation or encoding); a bad value gives 422; None, 404."""
    corpus = _corpus(request)
    cache: AnswerCache = request.app.state.corpus_cache

    def encoded() -> bytes:
        return json.dumps(compute(corpus), ensure_ascii=False, separators=(",", ":")).encode()

    def work() -> bytes:
        try:
            return cache.get_or_compute(_query_key(request), encoded)
        except (FilterError, ValueError) as e:
            raise HTTPException(status_code=422, detail=str(e)) from None

    body = await run_in_threadpool(work)
    if body == b"null":
        raise HTTPException(status_code=404, detail=f"not in the store: {request.url.path}")
    return Response(body, media_type="application/json")


def _page(page: Any, sort: str, filters: Filters) -> dict[str, Any]:
    return {"total": page.total, "offset": page.offset, "limit": page.limit, "sort": sort,
            "filters": filters.to_dict(), "rows": page.rows.to_dicts()}


def _reuse_answer(corpus: Any, article_id: int, offset: int = 0, limit: int = 100) -> dict[str, Any] | None:
    """Corpus.reuse(article_id) seen from the article: each link names the other article and gives this
    article's passage first; links of unknown direction apart. None when there is no such article."""
    r = corpus.reuse(article_id, offset=offset, limit=limit)
    if r is None:
        return None
    me = str(article_id)

    def item(lk: Any) -> dict[str, Any]:
        mine_is_copy = lk.copy_id == me
        other = int(lk.source if mine_is_copy else lk.copy_id)
        return {
            "id": other, "title": r.titles.get(other),
            "outlet": lk.source_outlet if mine_is_copy else lk.copy_outlet,
            "published": lk.source_published if mine_is_copy else lk.copy_published,
            "kind": lk.kind, "direction": lk.direction,
            "share": lk.share if mine_is_copy else lk.source_share,
            "other_share": lk.source_share if mine_is_copy else lk.share,
            "similarity": lk.similarity,
            "passages": sorted(({
                "start": p.copy_start if mine_is_copy else p.source_start,
                "end": p.copy_end if mine_is_copy else p.source_end,
                "text": p.copy_text if mine_is_copy else p.source_text,
                "other_start": p.source_start if mine_is_copy else p.copy_start,
                "other_end": p.source_end if mine_is_copy else p.copy_end,
                "other_text": p.source_text if mine_is_copy else p.copy_text,
                "similarity": p.similarity, "kind": p.kind} for p in lk.passages), key=lambda p: p["start"]),
        }

    links = r.sources + r.copies
    fam = r.family
    origin = int(fam.origin) if fam is not None and fam.origin else None
    return {
        "id": article_id, "traced": r.traced_at is not None, "traced_at": r.traced_at,
        "hint": None if r.traced_at else NOT_TRACED.format(store=corpus.name),
        "sources": [item(lk) for lk in r.sources if lk.direction == "dates"],
        "copies": [item(lk) for lk in r.copies if lk.direction == "dates"],
        "unknown_direction": [item(lk) for lk in links if lk.direction != "dates"],
        "offset": offset, "limit": limit, "totals": r.totals,
        "family": None if fam is None else {
            "id": fam.id, "origin": origin, "origin_title": r.titles.get(origin) if origin else None,
            "origin_published": fam.origin_published, "size": len(fam.members), "links": fam.links},
    }


def make_corpus_router() -> APIRouter:
    """The /api/v1/corpus routes (the app keeps the open Corpus in ``app.state.corpus``, None without one)."""
    router = APIRouter(tags=["corpus"], responses={
        404: {"description": "No store (the server was started without one) or no such article"},
        422: {"description": "A filter, sort or grouping that cannot be used; the message names it"}})

    @router.get(API_PREFIX, response_model=CorpusInfo, responses={404: {"description": "Not used here"}},
                summary="The store the server reads and its size (store null without one)")
    async def info(request: Request) -> Response:
        if getattr(request.app.state, "corpus", None) is None:  # a page without a store asks this: no 404
            return Response(json.dumps({"store": None, "articles": 0, "hint": NO_STORE}),
                            media_type="application/json")
        return await _answer(request, lambda c: {"store": c.name, "articles": c.count(), "hint": None})

    @router.get(f"{API_PREFIX}/stats", response_model=StatsAnswer,
                summary="Statistics per group, as `propscope stats` (e.g. ?by=month&by=technique)")
    async def stats(request: Request, filters: FiltersDep,
                    by: Annotated[list[str] | None, Query(
                        description=f"group by: {', '.join(BY_VALUES)}; at most one period",
                        examples=["technique"])] = None) -> Response:
        groups = list(by or [])
        return await _answer(request, lambda c: {"by": groups, "filters": filters.to_dict(),
                                                 "rows": c.stats(filters, by=groups).to_dicts()})

    @router.get(f"{API_PREFIX}/articles", response_model=ArticlePage,
                summary="One page of the selected articles, sorted (e.g. ?sort=-score&offset=50)")
    async def articles(request: Request, filters: FiltersDep,
                       sort: Annotated[str, Query(description=f"{', '.join(SORT_VALUES)}; prefix - for "
                                                  "descending", examples=["-score"])] = "-published",
                       offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
                       limit: Annotated[int, Query(ge=1, le=500)] = 50) -> Response:
        return await _answer(request, lambda c: _page(
            c.articles(filters, sort=sort, offset=offset, limit=limit), sort, filters))

    @router.get(f"{API_PREFIX}/articles/{{article_id}}", response_model=StoredArticleAnswer,
                summary="One stored article with its analysis: text, spans, sentence scores, article score")
    async def article(request: Request, article_id: int) -> Response:
        def one(c: Any) -> dict[str, Any] | None:
            a = c.article(article_id)
            if a is None:
                return None
            return {"id": a.id, "outlet": a.outlet, "orientation": a.orientation,
                    "published": a.published.isoformat() if a.published else None,
                    "ingested_at": a.ingested_at, "history": a.history,
                    "analysis": a.analysis.model_dump(mode="json")}

        return await _answer(request, one)

    @router.get(f"{API_PREFIX}/articles/{{article_id}}/reuse", response_model=ArticleReuseAnswer,
                summary="Text reuse of one stored article, as saved by `propscope trace --db`: its sources, "
                "copies and the aligned passages (paged: ?offset=100&limit=100 in each group)")
    async def article_reuse(request: Request, article_id: int,
                            offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
                            limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> Response:
        return await _answer(request, lambda c: _reuse_answer(c, article_id, offset, limit))

    @router.get(f"{API_PREFIX}/outlets", response_model=list[OutletItem],
                summary="Every outlet with its metadata and number of stored articles")
    async def outlets(request: Request) -> Response:
        return await _answer(request, lambda c: c.outlets().to_dicts())

    @router.get(f"{API_PREFIX}/search", response_model=ArticlePage,
                summary="Full-text search among the selected articles, best match first")
    async def search(request: Request, filters: FiltersDep,
                     q: Annotated[str, Query(min_length=1, description='words: all of them, "quoted phrases"',
                                             examples=["white house"])],
                     sort: Annotated[str, Query(description="relevance, or as /articles")] = "relevance",
                     offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
                     limit: Annotated[int, Query(ge=1, le=500)] = 20) -> Response:
        def found(c: Any) -> dict[str, Any]:
            rows = c.search(q, filters, limit=limit, offset=offset, sort=sort)
            total = c.articles(replace(filters, words=q), limit=0).total
            return {"total": total, "offset": offset, "limit": limit, "sort": sort,
                    "filters": filters.to_dict(), "rows": rows.to_dicts()}

        return await _answer(request, found)

    return router
