"""The query layer: Filters -> SQL, and the questions users ask (stats, top, search, article lists, exports).

Every function takes an open SQLAlchemy connection and a checked ``Filters``; results are plain rows
(dataclasses or dicts) in a ``Rows`` list with ``.to_pandas()``. Only ``propscope.corpus`` writes SQL.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, is_dataclass
from datetime import date, timedelta
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..schema import Analysis, Article, CleaningReport, Sentence, Span
from ..techniques import TECHNIQUES
from . import store as S
from .filters import Filters

T = TypeVar("T")

BY_KEYS = ("outlet", "orientation", "technique", "day", "week", "month", "year")
UNKNOWN = "(unknown)"

a_, an_, o_, sp_, t_ = S.articles, S.analyses, S.outlets, S.spans, S.article_texts
cc_, dc_ = S.confidence_counts, S.daily_counts

USE_BANDS = True
"""Read ``confidence_counts`` for a minimum confidence on a band boundary; False: always the spans (the two
give the same numbers; tests compare them)."""

USE_DAILY = True
"""Read ``daily_counts`` for statistics it can answer; False: always one row per article (tests compare)."""


class Rows(list[T], Generic[T]):
    """A list of result rows (dataclasses or dicts) with ``to_dicts()`` and ``to_pandas()``."""

    def to_dicts(self) -> list[dict[str, Any]]:
        return [asdict(r) if is_dataclass(r) else dict(r) for r in self]  # type: ignore[arg-type]

    def to_pandas(self):  # type: ignore[no-untyped-def]
        """The rows as a pandas DataFrame (needs pandas)."""
        import pandas as pd

        return pd.DataFrame(self.to_dicts())


@dataclass
class Page(Generic[T]):
    """One page of a long list: the rows, the total number of matches, and where the page starts."""

    rows: Rows[T]
    total: int
    offset: int
    limit: int


@dataclass
class ArticleRow:
    """One article in a list: store id, its id as read, title, URL, outlet, date and scores."""

    id: int
    ext_id: str
    title: str | None
    url: str | None
    outlet: str | None
    orientation: str | None
    published: str | None
    words: int
    score: float | None
    n_spans: int
    model: str
    rank: float | None = None


@dataclass
class StoredArticle:
    """An article as stored: its store id, the Article, its outlet and publication date."""

    id: int
    article: Article
    outlet: str | None
    published: date | None


@dataclass
class StoredAnalysis:
    """The full stored record of an article: the current Analysis (text, spans, sentences, score, model)
    plus outlet metadata, ingest time and the models of older analyses kept."""

    id: int
    analysis: Analysis
    outlet: str | None
    orientation: str | None
    published: date | None
    ingested_at: str
    history: list[str]


@dataclass
class OutletRow:
    id: int
    name: str
    domain: str | None
    country: str | None
    orientation: str | None
    extra: dict[str, str]
    articles: int


# --- Filters -> SQL --------------------------------------------------------------------------------


def fts_query(words: str) -> str:
    """User words -> an FTS5 query: each word or "quoted phrase" quoted, all required."""
    parts = re.findall(r'"([^"]+)"|(\S+)', words)
    terms = [(p or w).replace('"', "") for p, w in parts]
    return " ".join(f'"{t}"' for t in terms if t.strip())


def _words_clause(conn: Connection, words: str) -> sa.ColumnElement[bool]:
    if not fts_query(words):
        return sa.false()  # nothing searchable (only quotes or spaces): nothing matches
    if conn.dialect.name == "sqlite":
        sub = (
            sa.text("SELECT rowid FROM articles_fts WHERE articles_fts MATCH :fts")
            .bindparams(fts=fts_query(words))
            .columns(sa.column("rowid", sa.Integer))
        )
        return a_.c.id.in_(sa.select(sub.subquery().c.rowid))
    match = sa.text(f"{S.PG_FTS_EXPR} @@ websearch_to_tsquery('english', :words)").bindparams(words=words)
    return a_.c.id.in_(sa.select(t_.c.id).where(match))


def _span_clause(f: Filters) -> list[sa.ColumnElement[bool]]:
    out = []
    if f.techniques:
        out.append(sp_.c.technique.in_([TECHNIQUES.index(t) for t in f.techniques]))
    if f.min_confidence is not None:
        out.append(sp_.c.confidence >= f.min_confidence)
    return out


def article_where(conn: Connection, f: Filters, *, lists: bool = False) -> list[sa.ColumnElement[bool]]:
    """SQL conditions on articles (a_), their current analysis (an_) and outlet (o_) for ``f``; with
    ``lists``, an article must also have a selected span when techniques are given."""
    out: list[sa.ColumnElement[bool]] = [an_.c.current.is_(True)]
    if f.date_from:
        out.append(a_.c.published_date >= f.date_from)
    if f.date_to:
        out.append(a_.c.published_date <= f.date_to)
    out += _outlet_where(f)
    if f.words:
        out.append(_words_clause(conn, f.words))
    if lists and f.techniques:
        band = _band(f)
        cols = [S.N_TECH[TECHNIQUES.index(t)] for t in f.techniques]
        if band == 0:
            out.append(sa.or_(*[an_.c[c] > 0 for c in cols]))
        elif band is not None:
            out.append(sa.exists().where(cc_.c.analysis_id == an_.c.id, cc_.c.band == band,
                                         sa.or_(*[cc_.c[c] > 0 for c in cols])))
        else:
            out.append(sa.exists().where(sp_.c.analysis_id == an_.c.id, *_span_clause(f)))
    return out


def _outlet_where(f: Filters) -> list[sa.ColumnElement[bool]]:
    """SQL conditions on the outlet (o_) for ``f``'s outlets and orientations."""
    out = []
    if f.outlets:
        low = [x.lower() for x in f.outlets]
        out.append(sa.or_(sa.func.lower(o_.c.name).in_(low), sa.func.lower(o_.c.domain).in_(low)))
    if f.orientations:
        out.append(sa.func.lower(o_.c.orientation).in_([x.lower() for x in f.orientations]))
    return out


def _band(f: Filters) -> int | None:
    """Where the per-technique counts of ``f``'s spans come from: 0 (every span: the counts of
    ``analyses``), a band of ``confidence_counts`` (a minimum confidence on a band boundary), or None (any
    other minimum: the spans themselves)."""
    if f.min_confidence is None:
        return 0
    return S.band_of(f.min_confidence) if USE_BANDS else None


def _base_from() -> sa.FromClause:
    return a_.join(an_, an_.c.article_id == a_.c.id).outerjoin(o_, o_.c.id == a_.c.outlet_id)


def _counts_from(band: int) -> tuple[sa.FromClause, sa.TableClause | sa.Table]:
    """The FROM of statistics over ``band`` (see ``_band``), and the table holding the per-technique span
    counts (``n_spans``, ``n_tech_*``; NULL where an analysis has no span in the band)."""
    if band == 0:
        return _base_from(), an_
    return _base_from().outerjoin(cc_, sa.and_(cc_.c.analysis_id == an_.c.id, cc_.c.band == band)), cc_


# --- stats ----------------------------------------------------------------------------------------


def _period(d: date | None, by: str) -> str:
    if d is None:
        return UNKNOWN
    if isinstance(d, str):
        d = date.fromisoformat(d[:10])
    if by == "day":
        return d.isoformat()
    if by == "week":
        return (d - timedelta(days=d.weekday())).isoformat()
    if by == "month":
        return d.strftime("%Y-%m")
    return str(d.year)


_TIME = ("day", "week", "month", "year")


def _key_columns(by: Sequence[str], dialect: str = "") -> list[tuple[str, sa.ColumnElement[Any]]]:
    """The GROUP BY columns of ``by``. On SQLite a period groups by ``ifnull(published_date, NULL)``: the
    same value, but SQLite then scans ``analyses`` in order and sorts once, instead of walking the date index
    with a random lookup per article (3 times slower on 100,000 articles)."""
    cols: list[tuple[str, sa.ColumnElement[Any]]] = []
    for b in by:
        if b == "outlet":
            cols.append((b, o_.c.name))
        elif b == "orientation":
            cols.append((b, o_.c.orientation))
        elif b in _TIME:
            day: sa.ColumnElement[Any] = a_.c.published_date
            if dialect == "sqlite":
                day = sa.func.ifnull(a_.c.published_date, sa.null(), type_=sa.Date)
            cols.append((b, day))
    return cols


def _key(row: Sequence[Any], keys: list[tuple[str, Any]]) -> tuple[str, ...]:
    out = []
    for (b, _), v in zip(keys, row, strict=False):
        out.append(_period(v, b) if b in _TIME else (v if v is not None else UNKNOWN))
    return tuple(out)


def stats(conn: Connection, f: Filters, by: Sequence[str] = ()) -> Rows[dict[str, Any]]:
    """Per group of ``by`` (outlet, orientation, technique, day, week, month, year; none: one row for all):
    articles, articles_with (at least one selected span), share (articles_with / articles), spans, words,
    spans_per_1k_words, mean_score (mean article score). Grouped by technique, spans and articles_with
    count that technique only; groups sort by their keys (technique in PTC order)."""
    for b in by:
        if b not in BY_KEYS:
            raise ValueError(f"--by {b!r}: choose from {', '.join(BY_KEYS)}")
    if len([b for b in by if b in _TIME]) > 1:
        raise ValueError("--by: give at most one of day, week, month, year")
    keys = _key_columns(by, conn.dialect.name)
    tech_ids = sorted(TECHNIQUES.index(t) for t in (f.techniques or TECHNIQUES))
    per_tech = "technique" in by
    band = _band(f)
    fast = band is not None  # per-technique counts of `analyses` or `confidence_counts`, not every span
    if band == 0 and USE_DAILY and not f.words and (per_tech or len(f.techniques) <= 1):
        keys = _daily_keys(by)
        q = _daily_query(f, keys, tech_ids, per_tech)
    else:
        q = _article_query(conn, f, keys, tech_ids, per_tech, band)
    return _stats_rows(conn.execute(q), by, keys, tech_ids, per_tech, fast, f, conn)


def _daily_keys(by: Sequence[str]) -> list[tuple[str, sa.ColumnElement[Any]]]:
    day = sa.func.nullif(dc_.c.day, "")
    return [(b, o_.c.name if b == "outlet" else o_.c.orientation if b == "orientation" else day)
            for b in by if b != "technique"]


def _daily_query(f: Filters, keys: list[tuple[str, sa.ColumnElement[Any]]], tech_ids: list[int],
                 per_tech: bool) -> sa.Select[Any]:
    """Statistics from ``daily_counts``: filters on dates, outlets, orientation and at most one technique
    (without ``per_tech``), no words, no minimum confidence."""
    kcols = [c for _, c in keys]
    where: list[sa.ColumnElement[bool]] = []
    if f.date_from:
        where.append(dc_.c.day >= f.date_from.isoformat())
    if f.date_to:
        where += [dc_.c.day <= f.date_to.isoformat(), dc_.c.day != ""]
    where += _outlet_where(f)
    aggs: list[sa.ColumnElement[Any]] = [sa.func.sum(dc_.c[c]) for c in ("articles", "words", "score_sum",
                                                                           "scored")]
    if per_tech:
        for i in tech_ids:
            aggs += [sa.func.sum(dc_.c[S.N_TECH[i]]), sa.func.sum(dc_.c[S.W_TECH[i]])]
    elif f.techniques:
        aggs += [sa.func.sum(dc_.c[S.N_TECH[tech_ids[0]]]), sa.func.sum(dc_.c[S.W_TECH[tech_ids[0]]])]
    else:
        aggs += [sa.func.sum(dc_.c.n_spans), sa.func.sum(dc_.c.with_spans)]
    q = sa.select(*kcols, *aggs).select_from(dc_.outerjoin(o_, o_.c.id == dc_.c.outlet_id)).where(*where)
    # groups may be left at 0 articles; without groups, one row (of zeros when nothing is selected)
    return q.group_by(*kcols).having(sa.func.sum(dc_.c.articles) > 0) if kcols else q


def _article_query(conn: Connection, f: Filters, keys: list[tuple[str, sa.ColumnElement[Any]]],
                   tech_ids: list[int], per_tech: bool, band: int | None) -> sa.Select[Any]:
    """Statistics from one row per article (its current analysis), with the span counts of ``band``."""
    kcols = [c for _, c in keys]
    where = article_where(conn, f)
    fast = band is not None
    aggs: list[sa.ColumnElement[Any]] = [
        sa.func.count(), sa.func.sum(a_.c.words), sa.func.sum(an_.c.score), sa.func.count(an_.c.score)]
    frm, counts = _counts_from(band) if band is not None else (_base_from(), an_)
    if fast and per_tech:
        for i in tech_ids:
            col = counts.c[S.N_TECH[i]]
            aggs += [sa.func.sum(col), sa.func.sum(sa.case((col > 0, 1), else_=0))]
    elif not per_tech:
        if fast:
            n_col: sa.ColumnElement[Any] = (
                counts.c.n_spans if not f.techniques else sum_cols([counts.c[S.N_TECH[i]] for i in tech_ids]))
        else:
            sub = (sa.select(sp_.c.analysis_id, sa.func.count().label("n")).where(*_span_clause(f))
                   .group_by(sp_.c.analysis_id).subquery())
            n_col = sa.func.coalesce(sub.c.n, 0)
            frm = frm.outerjoin(sub, sub.c.analysis_id == an_.c.id)
        aggs += [sa.func.sum(n_col), sa.func.sum(sa.case((n_col > 0, 1), else_=0))]
    return sa.select(*kcols, *aggs).select_from(frm).where(*where).group_by(*kcols)


def _stats_rows(result: Any, by: Sequence[str], keys: list[tuple[str, Any]], tech_ids: list[int],
                per_tech: bool, fast: bool, f: Filters, conn: Connection) -> Rows[dict[str, Any]]:
    kcols = [c for _, c in keys]
    base = ["articles", "words", "score_sum", "scored"]
    groups: dict[tuple[str, ...], dict[str, float]] = {}
    per: dict[tuple[tuple[str, ...], int], list[int]] = {}
    for row in result:
        k = _key(row, keys)
        vals = row[len(kcols):]
        g = groups.setdefault(k, dict.fromkeys((*base, "spans", "with"), 0))
        for name, v in zip(base, vals[:4], strict=True):
            g[name] += v or 0
        rest = vals[4:]
        if per_tech and fast:
            for n, i in enumerate(tech_ids):
                acc = per.setdefault((k, i), [0, 0])
                acc[0] += rest[2 * n] or 0
                acc[1] += rest[2 * n + 1] or 0
        elif not per_tech:
            g["spans"] += rest[0] or 0
            g["with"] += rest[1] or 0

    out: Rows[dict[str, Any]] = Rows()
    if not per_tech:
        for k in sorted(groups):
            out.append(_stat_row(by, k, None, groups[k], groups[k]["spans"], groups[k]["with"]))
        return out
    if not fast:  # spans and articles using each technique, per group, from the spans themselves
        q = (
            sa.select(*kcols, sp_.c.technique, sa.func.count(), sa.func.count(sa.distinct(sp_.c.analysis_id)))
            .select_from(_base_from().join(sp_, sp_.c.analysis_id == an_.c.id))
            .where(*article_where(conn, f), *_span_clause(f))
            .group_by(*kcols, sp_.c.technique)
        )
        for row in conn.execute(q):
            acc = per.setdefault((_key(row, keys), row[len(kcols)]), [0, 0])
            acc[0] += row[-2]
            acc[1] += row[-1]
    for k in sorted(groups):
        for i in tech_ids:
            n, w = per.get((k, i), (0, 0))
            out.append(_stat_row(by, k, TECHNIQUES[i], groups[k], n, w))
    return out


def sum_cols(cols: Sequence[sa.ColumnElement[Any]]) -> sa.ColumnElement[Any]:
    total = cols[0]
    for c in cols[1:]:
        total = total + c
    return total


def _stat_row(
    by: Sequence[str],
    key: tuple[str, ...],
    technique: str | None,
    g: dict[str, float],
    n_spans: float,
    n_with: float,
) -> dict[str, Any]:
    row: dict[str, Any] = {}
    ki = iter(key)
    for b in by:
        row[b] = technique if b == "technique" else next(ki)
    arts, words = int(g["articles"]), int(g["words"])
    n_spans, n_with = int(n_spans), int(n_with)  # PostgreSQL sums counts as numeric (Decimal)
    row.update(
        articles=arts,
        articles_with=int(n_with),
        share=round(n_with / arts, 4) if arts else 0.0,
        spans=int(n_spans),
        words=words,
        spans_per_1k_words=round(1000 * n_spans / words, 3) if words else 0.0,
        mean_score=round(g["score_sum"] / g["scored"], 4) if g["scored"] else None,
    )
    return row


# --- lists ----------------------------------------------------------------------------------------

_ROW_COLS = (
    a_.c.id,
    a_.c.ext_id,
    a_.c.title,
    a_.c.url,
    o_.c.name,
    o_.c.orientation,
    a_.c.published_date,
    a_.c.words,
    an_.c.score,
    an_.c.n_spans,
    an_.c.model,
)

SORTS = {
    "score": an_.c.score,
    "published": a_.c.published_date,
    "outlet": o_.c.name,
    "title": a_.c.title,
    "spans": an_.c.n_spans,
    "words": a_.c.words,
    "id": a_.c.id,
}


def _article_row(r: Sequence[Any], rank: float | None = None) -> ArticleRow:
    d = r[6]
    return ArticleRow(
        id=r[0],
        ext_id=r[1],
        title=r[2],
        url=r[3],
        outlet=r[4],
        orientation=r[5],
        published=d.isoformat() if isinstance(d, date) else d,
        words=r[7],
        score=r[8],
        n_spans=r[9],
        model=r[10],
        rank=rank,
    )


def _order(sort: str) -> list[sa.ColumnElement[Any]]:
    desc = sort.startswith("-")
    name = sort.lstrip("-+")
    if name not in SORTS:
        raise ValueError(f"sort {sort!r}: choose from {', '.join(SORTS)} (prefix - for descending)")
    col = SORTS[name]
    return [(col.desc() if desc else col.asc()).nulls_last(), a_.c.id.desc() if desc else a_.c.id.asc()]


def articles(
    conn: Connection, f: Filters, *, sort: str = "-published", offset: int = 0, limit: int = 50
) -> Page[ArticleRow]:
    """One page of the selected articles, sorted by ``sort`` (score, published, outlet, title, spans,
    words, id; ``-`` for descending), with the total number selected."""
    where = article_where(conn, f, lists=True)
    total = conn.execute(sa.select(sa.func.count()).select_from(_base_from()).where(*where)).scalar_one()
    q = (
        sa.select(*_ROW_COLS)
        .select_from(_base_from())
        .where(*where)
        .order_by(*_order(sort))
        .offset(max(0, offset))
        .limit(max(0, limit))
    )
    return Page(Rows(_article_row(r) for r in conn.execute(q)), total, offset, limit)


def top(conn: Connection, f: Filters, n: int = 10) -> Rows[ArticleRow]:
    """The ``n`` selected articles with the highest article score."""
    return articles(conn, f, sort="-score", limit=n).rows


def search(
    conn: Connection, words: str, f: Filters, *, limit: int = 20, offset: int = 0, sort: str = "relevance"
) -> Rows[ArticleRow]:
    """Articles matching ``words`` (full-text: every word, "quoted phrases"), best match first, or by
    ``sort`` as in ``articles``; each with its relevance in ``rank`` (higher is better)."""
    from dataclasses import replace

    if not fts_query(words):
        return Rows()
    where = article_where(conn, replace(f, words=None), lists=True)
    if conn.dialect.name == "sqlite":
        fts = (
            sa.text("SELECT rowid, -bm25(articles_fts) AS rank FROM articles_fts WHERE articles_fts MATCH :q")
            .bindparams(q=fts_query(words))
            .columns(sa.column("rowid", sa.Integer), sa.column("rank", sa.Float))
            .subquery()
        )
        frm = _base_from().join(fts, fts.c.rowid == a_.c.id)
        rank: sa.ColumnElement[Any] = fts.c.rank
    else:
        frm = _base_from().join(t_, t_.c.id == a_.c.id)
        where.append(sa.text(f"{S.PG_FTS_EXPR} @@ websearch_to_tsquery('english', :words)").bindparams(
            words=words))
        rank = sa.func.ts_rank(
            sa.literal_column(S.PG_FTS_EXPR),
            sa.func.websearch_to_tsquery(sa.literal_column("'english'"), words),
        )
    order = [rank.desc(), a_.c.id] if sort == "relevance" else _order(sort)
    q = (
        sa.select(*_ROW_COLS, rank)
        .select_from(frm)
        .where(*where)
        .order_by(*order)
        .offset(offset)
        .limit(limit)
    )
    return Rows(_article_row(r, round(float(r[-1]), 4)) for r in conn.execute(q))


# --- single articles ------------------------------------------------------------------------------


def _article_from_row(r: Any) -> Article:
    cleaning = CleaningReport.model_validate_json(r.cleaning) if r.cleaning else None
    return Article(
        id=r.ext_id,
        text=r.text,
        title=r.title,
        url=r.url,
        source=r.source,
        site=r.site,
        published=r.published,
        author=r.author,
        format=r.format,
        cleaning=cleaning,
    )


def stored_article(conn: Connection, article_id: int) -> Article | None:
    r = conn.execute(
        sa.select(a_, t_.c.text).select_from(a_.join(t_, t_.c.id == a_.c.id)).where(a_.c.id == article_id)
    ).first()
    return _article_from_row(r) if r is not None else None


def article(conn: Connection, article_id: int) -> StoredAnalysis | None:
    """The stored article ``article_id`` with its current analysis; None when there is none."""
    r = conn.execute(
        sa.select(a_, t_.c.text, o_.c.name.label("outlet_name"), o_.c.orientation)
        .select_from(a_.join(t_, t_.c.id == a_.c.id).outerjoin(o_, o_.c.id == a_.c.outlet_id))
        .where(a_.c.id == article_id)
    ).first()
    if r is None:
        return None
    art = _article_from_row(r)
    ans = conn.execute(sa.select(an_).where(an_.c.article_id == article_id).order_by(an_.c.id)).all()
    cur = next((x for x in ans if x.current), None)
    spans_: list[Span] = []
    sents: list[Sentence] = []
    if cur is not None:
        for s in conn.execute(sa.select(sp_).where(sp_.c.analysis_id == cur.id).order_by(sp_.c.start)):
            spans_.append(
                Span(
                    start=s.start,
                    end=s.end,
                    technique=TECHNIQUES[s.technique],
                    confidence=s.confidence,
                    text=art.text[s.start : s.end],
                )
            )
        sents = [
            Sentence(start=s.start, end=s.end, score=s.score, n_spans=s.n_spans)
            for s in conn.execute(
                sa.select(S.sentences)
                .where(S.sentences.c.analysis_id == cur.id)
                .order_by(S.sentences.c.start)
            )
        ]
    analysis = Analysis(
        article=art,
        spans=spans_,
        sentences=sents,
        model=cur.model if cur else None,
        score=cur.score if cur else None,
    )
    return StoredAnalysis(
        id=r.id,
        analysis=analysis,
        outlet=r.outlet_name,
        orientation=r.orientation,
        published=r.published_date,
        ingested_at=r.ingested_at.isoformat(timespec="seconds"),
        history=[x.model for x in ans if not x.current],
    )


def iter_stored(conn: Connection, f: Filters, *, chunk: int = 500) -> Iterator[StoredArticle]:
    """Every selected article, by store id, read ``chunk`` at a time."""
    last = 0
    where = article_where(conn, f, lists=True)
    while True:
        q = (
            sa.select(a_, t_.c.text, o_.c.name.label("outlet_name"))
            .select_from(_base_from().join(t_, t_.c.id == a_.c.id))
            .where(*where, a_.c.id > last)
            .order_by(a_.c.id)
            .limit(chunk)
        )
        rows = conn.execute(q).all()
        if not rows:
            return
        for r in rows:
            yield StoredArticle(r.id, _article_from_row(r), r.outlet_name, r.published_date)
        last = rows[-1].id


def outlets(conn: Connection) -> Rows[OutletRow]:
    """Every outlet with its metadata and number of stored articles, by name."""
    n = sa.select(a_.c.outlet_id, sa.func.count().label("n")).group_by(a_.c.outlet_id).subquery()
    q = (
        sa.select(o_, sa.func.coalesce(n.c.n, 0))
        .select_from(o_.outerjoin(n, n.c.outlet_id == o_.c.id))
        .order_by(o_.c.name)
    )
    return Rows(
        OutletRow(
            r.id, r.name, r.domain, r.country, r.orientation, json.loads(r.extra) if r.extra else {}, r[-1]
        )
        for r in conn.execute(q)
    )


def version(conn: Connection) -> tuple[int, int, int, str]:
    """(largest analysis id, current analyses, a checksum of the outlets' names and orientations, when the
    store was last traced or "")."""
    a = conn.execute(sa.select(sa.func.coalesce(sa.func.max(an_.c.id), 0), sa.func.count())
                     .where(an_.c.current == sa.true())).one()
    o = conn.execute(sa.select(o_.c.id, o_.c.name, o_.c.orientation)).all()
    return int(a[0]), int(a[1]), hash(tuple(tuple(r) for r in o)) & 0x7FFFFFFF, traced_at(conn) or ""


def traced_at(conn: Connection) -> str | None:
    """When the store was last traced (`propscope trace --db`; ISO 8601), or None when it never was."""
    return conn.execute(sa.select(S.meta.c.value).where(S.meta.c.key == "traced_at")).scalar()


# --- export rows ----------------------------------------------------------------------------------

EXPORTS = ("articles", "spans", "sentences")


def export_rows(conn: Connection, f: Filters, what: str, *, chunk: int = 2000) -> Iterator[dict[str, Any]]:
    """Flat rows for export: ``articles`` (id, ext_id, url, outlet, orientation, published, title, author,
    words, score, n_spans, model, a count per technique, text), ``spans`` or ``sentences`` (article id,
    outlet, published, offsets, technique/score, confidence, text)."""
    if what not in EXPORTS:
        raise ValueError(f"--what {what!r}: choose from {', '.join(EXPORTS)}")
    where = article_where(conn, f, lists=True)
    span_filter = _span_clause(f)
    last = 0
    while True:
        q = (
            sa.select(
                a_.c.id,
                a_.c.ext_id,
                a_.c.url,
                o_.c.name,
                o_.c.orientation,
                a_.c.published_date,
                a_.c.title,
                a_.c.author,
                a_.c.words,
                an_.c.score,
                an_.c.n_spans,
                an_.c.model,
                an_.c.id.label("analysis_id"),
                t_.c.text,
            )
            .select_from(_base_from().join(t_, t_.c.id == a_.c.id))
            .where(*where, a_.c.id > last)
            .order_by(a_.c.id)
            .limit(chunk)
        )
        batch = conn.execute(q).all()
        if not batch:
            return
        last = batch[-1].id
        by_an = {r.analysis_id: r for r in batch}
        if what == "sentences":
            sq = (
                sa.select(S.sentences)
                .where(S.sentences.c.analysis_id.in_(list(by_an)))
                .order_by(S.sentences.c.analysis_id, S.sentences.c.start)
            )
            for s in conn.execute(sq):
                r = by_an[s.analysis_id]
                yield {
                    "article_id": r.id,
                    "outlet": r.name,
                    "published": r.published_date,
                    "start": s.start,
                    "end": s.end,
                    "score": s.score,
                    "n_spans": s.n_spans,
                    "text": r.text[s.start : s.end],
                }
            continue
        sq = (
            sa.select(sp_)
            .where(sp_.c.analysis_id.in_(list(by_an)), *span_filter)
            .order_by(sp_.c.analysis_id, sp_.c.start)
        )
        if what == "spans":
            for s in conn.execute(sq):
                r = by_an[s.analysis_id]
                yield {
                    "article_id": r.id,
                    "outlet": r.name,
                    "published": r.published_date,
                    "start": s.start,
                    "end": s.end,
                    "technique": TECHNIQUES[s.technique],
                    "confidence": s.confidence,
                    "text": r.text[s.start : s.end],
                }
            continue
        counts: dict[int, list[int]] = {k: [0] * len(TECHNIQUES) for k in by_an}
        for s in conn.execute(sq):
            counts[s.analysis_id][s.technique] += 1
        for an_id, r in by_an.items():
            row = {
                "id": r.id,
                "ext_id": r.ext_id,
                "url": r.url,
                "outlet": r.name,
                "orientation": r.orientation,
                "published": r.published_date,
                "title": r.title,
                "author": r.author,
                "words": r.words,
                "score": r.score,
                "n_spans": r.n_spans,
                "model": r.model,
            }
            row.update(zip(TECHNIQUES, counts[an_id], strict=True))
            row["text"] = r.text
            yield row
