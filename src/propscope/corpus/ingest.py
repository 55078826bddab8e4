"""Ingest: read articles, skip those already stored, analyse the rest, store them one batch per transaction.

Idempotent (an article is identified by its URL, else by its content hash; one already stored is skipped
before analysis; an identical text under a new URL is stored as its own article with a copy of the stored
analysis, without running the model) and resumable (a batch is committed whole or not at all, so a killed
run loses at most the batch in flight).
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from email.utils import parsedate_to_datetime
from functools import lru_cache
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..errors import InputError
from ..readers.text import first_line
from ..schema import Analysis, Article
from ..techniques import TECHNIQUES
from . import store as S

BATCH_SIZE = 16
_TECH_ID = {t: i for i, t in enumerate(TECHNIQUES)}
_WORD = re.compile(r"\w+")

Input = Article | str | os.PathLike[str]


@dataclass
class IngestReport:
    """What an ingest did: articles read, added, skipped as already stored, and the inputs that failed."""

    read: int = 0
    added: int = 0
    skipped: int = 0
    spans: int = 0
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def failed(self) -> int:
        return len(self.errors)

    def summary(self) -> str:
        s = (
            f"{self.added} article{'s' if self.added != 1 else ''} added ({self.spans} spans), "
            f"{self.skipped} already stored"
        )
        return s + (f", {self.failed} failed" if self.failed else "")


def content_hash(text: str) -> str:
    """SHA-256 of the article text (UTF-8), hex: the identity of an article without a URL."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def count_words(text: str) -> int:
    return len(_WORD.findall(text))


def parse_published(value: str | None) -> date | None:
    """The date of an ISO 8601 or RFC 2822 date string; None when absent; ValueError when unparseable."""
    if not value or not value.strip():
        return None
    v = value.strip()
    try:
        return datetime.fromisoformat(v.replace("Z", "+00:00")).date()
    except ValueError:
        pass
    if re.fullmatch(r"\d{4}-\d{2}", v):
        return date(int(v[:4]), int(v[5:]), 1)
    try:
        return parsedate_to_datetime(v).date()
    except (TypeError, ValueError, IndexError):
        raise ValueError(f"unparseable date {value!r}") from None


@lru_cache(maxsize=1)
def _extractor():  # type: ignore[no-untyped-def]
    import tldextract

    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)  # bundled snapshot, no network


def url_host(url: str | None) -> str | None:
    if not url:
        return None
    try:
        host = (urlsplit(url).hostname or "").lower()
    except ValueError:
        return None
    return host.removeprefix("www.") or None


def registered_domain(url: str | None) -> str | None:
    """The registered domain of ``url`` (``news.bbc.co.uk`` -> ``bbc.co.uk``), from the bundled public
    suffix list; the host itself when it has none (``localhost``, an IP address); None without a URL."""
    host = url_host(url)
    if not host:
        return None
    r = _extractor()(host)
    return r.top_domain_under_public_suffix or host


def host_candidates(url: str | None) -> list[str]:
    """``money.cnn.com`` -> [``money.cnn.com``, ``cnn.com``]: the host, then each parent down to the
    registered domain."""
    host, reg = url_host(url), registered_domain(url)
    if not host or not reg:
        return []
    out = [host]
    while host != reg and "." in host:
        host = host.split(".", 1)[1]
        out.append(host)
    return out


class OutletResolver:
    """Finds or creates the outlet row of an article: by name (the site name, else the registered domain,
    else the fallback), else by a domain that belongs to exactly one known outlet."""

    def __init__(self, conn: Connection) -> None:
        self.by_name: dict[str, int] = {}
        self.by_domain: dict[str, list[int]] = {}
        for oid, name, domain in conn.execute(
            sa.select(S.outlets.c.id, S.outlets.c.name, S.outlets.c.domain)
        ):
            self._add(oid, name, domain)

    def _add(self, oid: int, name: str, domain: str | None) -> None:
        self.by_name[name.lower()] = oid
        if domain:
            self.by_domain.setdefault(domain.lower(), []).append(oid)

    def resolve(self, conn: Connection, article: Article, fallback: str | None) -> int | None:
        reg = registered_domain(article.url)
        name = (article.site or "").strip() or reg or (fallback or "").strip() or None
        if name is None:
            return None
        if name.lower() in self.by_name:
            return self.by_name[name.lower()]
        for host in host_candidates(article.url):
            ids = self.by_domain.get(host, [])
            if len(ids) == 1:
                return ids[0]
        oid = conn.execute(S.outlets.insert().values(name=name, domain=reg)).inserted_primary_key[0]
        self._add(oid, name, reg)
        return oid


def _iter_inputs(
    inputs: Iterable[Input] | Input, *, clean: bool, fields: Mapping[str, str] | None
) -> Iterator[Article | InputError]:
    from ..read import iter_articles

    if isinstance(inputs, Article | str | os.PathLike):
        inputs = [inputs]
    for item in inputs:
        if isinstance(item, Article):
            yield item
        else:
            yield from iter_articles([item], clean=clean, jsonl_fields=fields)


def _batches(
    items: Iterator[Article | InputError], size: int, report: IngestReport, on_error: Callable[[str], None]
) -> Iterator[list[Article]]:
    batch: list[Article] = []
    for item in items:
        if isinstance(item, InputError):
            report.errors.append(str(item))
            on_error(str(item))
            continue
        report.read += 1
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _new_only(conn: Connection, batch: list[Article]) -> list[tuple[Article, str]]:
    """The articles of ``batch`` not yet stored, each once, with their content hash: an article with a URL
    is identified by its URL, one without by its content hash."""
    hashed = [(a, content_hash(a.text)) for a in batch]
    urls = [a.url for a, _ in hashed if a.url]
    known_urls = (
        set(conn.execute(sa.select(S.articles.c.url).where(S.articles.c.url.in_(urls))).scalars())
        if urls
        else set()
    )
    bare = [h for a, h in hashed if not a.url]
    known_hashes = (
        set(conn.execute(sa.select(S.articles.c.content_hash).where(S.articles.c.content_hash.in_(bare)))
            .scalars())
        if bare
        else set()
    )
    out = []
    for a, h in hashed:
        if a.url:
            if a.url in known_urls:
                continue
            known_urls.add(a.url)
        else:
            if h in known_hashes:
                continue
            known_hashes.add(h)
        out.append((a, h))
    return out


def _stored_analyses(conn: Connection, hashes: Iterable[str]) -> dict[str, Analysis]:
    """The current analysis of a stored article with each content hash (the first stored), by hash."""
    from .query import article as stored

    want = sorted(set(hashes))
    if not want:
        return {}
    rows = conn.execute(
        sa.select(S.articles.c.content_hash, sa.func.min(S.articles.c.id))
        .where(S.articles.c.content_hash.in_(want))
        .group_by(S.articles.c.content_hash)
    ).all()
    out = {}
    for h, aid in rows:
        full = stored(conn, aid)
        if full is not None and full.analysis.model is not None:
            out[h] = full.analysis
    return out


def store_analysis(conn: Connection, article_id: int, analysis: Analysis, *, now: datetime) -> int:
    """Insert ``analysis`` (spans, sentences) as the current analysis of ``article_id``; older analyses of
    the article stay, marked not current. Returns the analysis id."""
    S.update_daily(conn, [article_id], -1)
    conn.execute(S.analyses.update().where(S.analyses.c.article_id == article_id).values(current=False))
    per_tech = [0] * len(TECHNIQUES)
    for s in analysis.spans:
        per_tech[_TECH_ID[s.technique]] += 1
    an_id = conn.execute(
        S.analyses.insert().values(
            article_id=article_id,
            model=analysis.model or "unknown",
            current=True,
            score=analysis.score,
            n_spans=len(analysis.spans),
            created_at=now,
            **dict(zip(S.N_TECH, per_tech, strict=True)),
        )
    ).inserted_primary_key[0]
    if analysis.spans:
        conn.execute(
            S.spans.insert(),
            [
                {
                    "analysis_id": an_id,
                    "start": s.start,
                    "end": s.end,
                    "technique": _TECH_ID[s.technique],
                    "confidence": s.confidence,
                }
                for s in analysis.spans
            ],
        )
        bands = S.confidence_rows(an_id, [(_TECH_ID[s.technique], s.confidence) for s in analysis.spans])
        if bands:
            conn.execute(S.confidence_counts.insert(), bands)
    if analysis.sentences:
        conn.execute(
            S.sentences.insert(),
            [
                {"analysis_id": an_id, "start": s.start, "end": s.end, "score": s.score, "n_spans": s.n_spans}
                for s in analysis.sentences
            ],
        )
    S.update_daily(conn, [article_id], 1)
    return an_id


def _insert_article(
    conn: Connection, a: Article, h: str, outlet_id: int | None, published: date | None, now: datetime
) -> int:
    title = a.title or first_line(a.text)  # an Article made in Python may come without one
    aid = conn.execute(
        S.articles.insert().values(
            url=a.url,
            content_hash=h,
            outlet_id=outlet_id,
            ext_id=a.id,
            title=title,
            published=a.published,
            published_date=published,
            author=a.author,
            site=a.site,
            source=a.source,
            format=a.format,
            words=count_words(a.text),
            cleaning=a.cleaning.model_dump_json() if a.cleaning is not None else None,
            ingested_at=now,
        )
    ).inserted_primary_key[0]
    conn.execute(S.article_texts.insert().values(id=aid, text=a.text))
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("INSERT INTO articles_fts(rowid, text) VALUES (?, ?)", (aid, a.text))
    return aid


def ingest(
    store: S.Store,
    inputs: Iterable[Input] | Input,
    *,
    detector: object | None = None,
    model: str | os.PathLike[str] | None = None,
    outlet: str | None = None,
    clean: bool = True,
    fields: Mapping[str, str] | None = None,
    batch_size: int = BATCH_SIZE,
    on_error: Callable[[str], None] | None = None,
    on_warning: Callable[[str], None] | None = None,
    on_batch: Callable[[IngestReport], None] | None = None,
    analyze: Callable[[list[Article]], list[Analysis]] | None = None,
) -> IngestReport:
    """Analyse and store every article of ``inputs`` not stored yet; see ``Corpus.ingest``. ``analyze``
    replaces the local detector (e.g. ``propscope.scale.ray.analyze_ray``)."""
    from ..pipeline import analyze_articles

    report = IngestReport()
    warn = on_error or (lambda _msg: None)
    det = detector
    for batch in _batches(_iter_inputs(inputs, clean=clean, fields=fields), max(1, batch_size), report, warn):
        with store.read() as conn:
            new = _new_only(conn, batch)
            known = _stored_analyses(conn, [h for _, h in new])
        report.skipped += len(batch) - len(new)
        if not new:
            if on_batch is not None:
                on_batch(report)
            continue
        # each distinct text is analysed once; a text stored already under another URL is not analysed
        todo: dict[str, Article] = {}
        for a, h in new:
            if h not in known and h not in todo:
                todo[h] = a
        if todo:
            if analyze is None and det is None:
                from ..detect.base import load_detector

                det = load_detector(model)
            try:
                arts = list(todo.values())
                done = (
                    analyze(arts) if analyze is not None else analyze_articles(arts, det)  # type: ignore[arg-type]
                )
            except Exception as exc:  # a model failure on one batch must not stop the others
                for a, _ in new:
                    msg = f"{a.source or a.id}: analysis failed ({type(exc).__name__}: {exc})"
                    report.errors.append(msg)
                    warn(msg)
                continue
            known.update(zip(todo, done, strict=True))
        dates: list[date | None] = []
        for a, _ in new:
            for w in a.warnings:  # what reading noticed (a field ignored, a date that is not one...)
                msg = f"{a.source or a.url or a.id}: {w}"
                report.warnings.append(msg)
                (on_warning or warn)(msg)
            try:
                dates.append(parse_published(a.published))
            except ValueError as exc:
                msg = f"{a.source or a.url or a.id}: {exc}; stored without a date"
                report.warnings.append(msg)
                (on_warning or warn)(msg)
                dates.append(None)
        now = S._now()
        with store.write() as conn:
            # another writer may have won
            still_new = {id(a) for a, _ in _new_only(conn, [a for a, _ in new])}
            resolver = OutletResolver(conn)
            for (a, h), d in zip(new, dates, strict=True):
                if id(a) not in still_new:
                    report.skipped += 1
                    continue
                an = known[h]
                aid = _insert_article(conn, a, h, resolver.resolve(conn, a, outlet), d, now)
                store_analysis(conn, aid, an, now=now)
                report.added += 1
                report.spans += len(an.spans)
        if on_batch is not None:
            on_batch(report)
    return report


def reanalyze(
    store: S.Store,
    *,
    detector: object | None = None,
    model: str | os.PathLike[str] | None = None,
    article_ids: Iterable[int] | None = None,
    drop_old: bool = False,
    batch_size: int = BATCH_SIZE,
    on_batch: Callable[[int], None] | None = None,
) -> int:
    """Run ``detector`` again on stored articles (all, or ``article_ids``); the new analysis becomes the
    current one. Older analyses are kept unless ``drop_old``. Returns the number of articles reanalysed."""
    from ..detect.base import load_detector
    from ..pipeline import analyze_articles
    from .query import stored_article

    det = detector if detector is not None else load_detector(model)
    if article_ids is None:
        with store.read() as conn:
            ids = list(conn.execute(sa.select(S.articles.c.id).order_by(S.articles.c.id)).scalars())
    else:
        ids = list(article_ids)
    done = 0
    for i in range(0, len(ids), max(1, batch_size)):
        chunk = ids[i : i + batch_size]
        with store.read() as conn:
            arts = [stored_article(conn, x) for x in chunk]
        analysed = analyze_articles([a for a in arts if a is not None], det)  # type: ignore[arg-type]
        now = S._now()
        with store.write() as conn:
            for aid, an in zip(
                [x for x, a in zip(chunk, arts, strict=True) if a is not None], analysed, strict=True
            ):
                if drop_old:
                    S.update_daily(conn, [aid], -1)
                    conn.execute(S.analyses.delete().where(S.analyses.c.article_id == aid))
                store_analysis(conn, aid, an, now=now)
                done += 1
        if on_batch is not None:
            on_batch(done)
    return done
