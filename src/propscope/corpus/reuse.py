"""Trace results in the store: trace the stored articles, save links, passages and families, read them back.

A trace run replaces the results of the previous one (tables ``reuse_links``, ``reuse_passages``,
``story_families``, ``family_members``; docs/corpus.md). Passages are stored as character offsets; their texts
are cut from the stored article texts when read.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from . import query as Q
from . import store as S
from .filters import Filters

if TYPE_CHECKING:
    from ..trace.model import ReuseLink, StoryFamily, TraceInput, TraceResult

L, P, F, M = S.reuse_links, S.reuse_passages, S.story_families, S.family_members


def trace_inputs(conn: Connection, f: Filters) -> list[TraceInput]:
    """The selected stored articles as trace inputs: the store id as id, outlet and date from the store."""
    from ..trace.model import TraceInput

    return [
        TraceInput(
            id=str(s.id),
            text=s.article.text,
            published=s.published.isoformat() if s.published else None,
            outlet=s.outlet,
            title=s.article.title,
        )
        for s in Q.iter_stored(conn, f)
    ]


def save_trace(conn: Connection, result: TraceResult) -> None:
    """Replace the stored trace results by ``result`` (article ids are store ids as strings)."""
    for table in reversed(S.TRACE_TABLES):
        conn.execute(table.delete())
    # the tables are empty now: ids are given here, so that every table is written in a few bulk inserts
    link_rows, passage_rows = [], []
    for link_id, lk in enumerate(result.links, 1):
        link_rows.append({
            "id": link_id, "source_id": int(lk.source), "copy_id": int(lk.copy_id), "direction": lk.direction,
            "kind": lk.kind, "share": lk.share, "source_share": lk.source_share, "similarity": lk.similarity,
        })
        passage_rows += [
            {"link_id": link_id, "source_start": p.source_start, "source_end": p.source_end,
             "copy_start": p.copy_start, "copy_end": p.copy_end, "similarity": p.similarity, "kind": p.kind}
            for p in lk.passages
        ]
    family_rows = [
        {"id": fam.id, "origin_id": int(fam.origin) if fam.origin else None, "size": len(fam.members),
         "links": fam.links}
        for fam in result.families
    ]
    member_rows = [
        {"family_id": fam.id, "article_id": int(m)} for fam in result.families for m in fam.members
    ]
    for table, rows in ((L, link_rows), (P, passage_rows), (F, family_rows), (M, member_rows)):
        for lo in range(0, len(rows), 5000):
            conn.execute(table.insert(), rows[lo : lo + 5000])
    now = S._now().isoformat(timespec="seconds")
    done = conn.execute(sa.select(S.meta.c.key).where(S.meta.c.key == "traced_at")).first()
    if done:
        conn.execute(S.meta.update().where(S.meta.c.key == "traced_at").values(value=now))
    else:
        conn.execute(S.meta.insert().values(key="traced_at", value=now))


def run_trace(
    store: S.Store,
    f: Filters,
    *,
    params: Any = None,
    tracer: Callable[[list[TraceInput]], TraceResult] | None = None,
) -> TraceResult:
    """Trace the selected articles (``tracer``, else ``propscope.trace.trace``) and save the result."""
    with store.read() as conn:
        items = trace_inputs(conn, f)
    if tracer is None:
        from ..trace import trace

        result = trace(items, params)
    else:
        result = tracer(items)
    with store.write() as conn:
        save_trace(conn, result)
    return result


@dataclass
class ArticleReuse:
    """Where one stored article's text came from and where it went: links in which it is the copy
    (``sources``) or the source (``copies``), with passages and texts; the other articles' titles; its
    story family; when the store was last traced (``traced_at``, None: never)."""

    article_id: int
    sources: list[ReuseLink] = field(default_factory=list)
    copies: list[ReuseLink] = field(default_factory=list)
    titles: dict[int, str | None] = field(default_factory=dict)
    family: StoryFamily | None = None
    traced_at: str | None = None
    totals: dict[str, int] = field(default_factory=dict)  # links per group of GROUPS, before any limit


def _texts(conn: Connection, ids: set[int]) -> dict[int, tuple[str, str | None, str | None, str | None]]:
    """(text, title, outlet, date) of each article id."""
    if not ids:
        return {}
    rows = conn.execute(
        sa.select(S.articles.c.id, S.article_texts.c.text, S.articles.c.title, S.outlets.c.name,
                  S.articles.c.published_date)
        .select_from(
            S.articles.join(S.article_texts, S.article_texts.c.id == S.articles.c.id).outerjoin(
                S.outlets, S.outlets.c.id == S.articles.c.outlet_id
            )
        )
        .where(S.articles.c.id.in_(sorted(ids)))
    )
    return {r[0]: (r[1], r[2], r[3], r[4].isoformat() if r[4] else None) for r in rows}


GROUPS = ("sources", "copies", "unknown_direction")


def _group(article_id: int, group: str) -> sa.ColumnElement[bool]:
    """The links of one group seen from the article: earlier sources and later copies (dated), and those
    whose direction the dates cannot tell."""
    if group == "sources":
        return sa.and_(L.c.copy_id == article_id, L.c.direction == "dates")
    if group == "copies":
        return sa.and_(L.c.source_id == article_id, L.c.direction == "dates")
    return sa.and_(sa.or_(L.c.source_id == article_id, L.c.copy_id == article_id), L.c.direction != "dates")


def reuse(conn: Connection, article_id: int, *, offset: int = 0, limit: int | None = None
          ) -> ArticleReuse | None:
    """The stored trace results of one article (empty when it shares no text or no trace has run), or None
    when there is no such article. ``offset`` and ``limit`` page each group of ``GROUPS`` (in the order the
    links were saved); ``totals`` counts every link of each group."""
    from ..trace.model import Passage, ReuseLink, StoryFamily

    if conn.execute(sa.select(S.articles.c.id).where(S.articles.c.id == article_id)).first() is None:
        return None

    totals, rows = {}, []
    for group in GROUPS:
        where = _group(article_id, group)
        totals[group] = conn.execute(sa.select(sa.func.count()).select_from(L).where(where)).scalar_one()
        q = sa.select(L).where(where).order_by(L.c.id).offset(offset)
        rows += conn.execute(q.limit(limit) if limit is not None else q).all()
    links = sorted(rows, key=lambda r: r.id)
    passages: dict[int, list[Any]] = {}
    if links:
        for p in conn.execute(
            sa.select(P).where(P.c.link_id.in_([r.id for r in links])).order_by(P.c.link_id, P.c.copy_start)
        ):
            passages.setdefault(p.link_id, []).append(p)
    fam_row = conn.execute(
        sa.select(F).join(M, M.c.family_id == F.c.id).where(M.c.article_id == article_id)
    ).first()
    members = []
    if fam_row is not None:
        q = sa.select(M.c.article_id).where(M.c.family_id == fam_row.id).order_by(M.c.article_id)
        members = list(conn.execute(q).scalars())
    info = _texts(conn, {article_id} | {r.source_id for r in links} | {r.copy_id for r in links}
                  | ({fam_row.origin_id} if fam_row and fam_row.origin_id else set()))
    out = ArticleReuse(article_id, titles={k: v[1] for k, v in info.items()}, traced_at=Q.traced_at(conn),
                       totals=totals)
    for r in links:
        src, cp = info[r.source_id], info[r.copy_id]
        lk = ReuseLink(
            source=str(r.source_id),
            copy=str(r.copy_id),
            direction=r.direction,
            kind=r.kind,
            share=r.share,
            source_share=r.source_share,
            similarity=r.similarity,
            source_published=src[3],
            copy_published=cp[3],
            source_outlet=src[2],
            copy_outlet=cp[2],
            passages=[
                Passage(
                    source_start=p.source_start,
                    source_end=p.source_end,
                    copy_start=p.copy_start,
                    copy_end=p.copy_end,
                    similarity=p.similarity,
                    kind=p.kind,
                    source_text=src[0][p.source_start : p.source_end],
                    copy_text=cp[0][p.copy_start : p.copy_end],
                )
                for p in passages.get(r.id, [])
            ],
        )
        (out.sources if r.copy_id == article_id else out.copies).append(lk)
    if fam_row is not None:
        origin = fam_row.origin_id
        out.family = StoryFamily(
            id=fam_row.id,
            members=[str(m) for m in members],
            origin=str(origin) if origin else None,
            origin_published=info[origin][3] if origin in info else None,
            links=fam_row.links,
        )
    return out


@dataclass
class ReuseStats:
    """Reuse per outlet: ``outlets`` (articles, articles reusing earlier text, their share, articles reused
    by a later one) and ``flows`` (links from a source outlet to a copy outlet)."""

    outlets: Q.Rows[dict[str, Any]]
    flows: Q.Rows[dict[str, Any]]


def _selected(conn: Connection, f: Filters) -> sa.Select[Any]:
    return sa.select(Q.a_.c.id).select_from(Q._base_from()).where(*Q.article_where(conn, f, lists=True))


def reuse_stats(conn: Connection, f: Filters) -> ReuseStats:
    """Per outlet of the selected articles: how many reuse earlier text, and which outlets they copy from.

    An article *reuses earlier text* when it is the copy of a link whose direction the dates decided
    (``direction == "dates"``) and whose kind is verbatim or reworded (shared quotation only does not count).
    ``flows`` counts those links by (source outlet, copy outlet), the copy among the selected articles.
    """
    sel = _selected(conn, f).subquery()
    src_a, cp_a = S.articles.alias("src_a"), S.articles.alias("cp_a")
    src_o, cp_o = S.outlets.alias("src_o"), S.outlets.alias("cp_o")
    reusing = (L.c.direction == "dates") & L.c.kind.in_(["verbatim", "reworded"])

    per: dict[str, dict[str, Any]] = {}
    q = (
        sa.select(S.outlets.c.name, sa.func.count())
        .select_from(S.articles.join(sel, sel.c.id == S.articles.c.id).outerjoin(
            S.outlets, S.outlets.c.id == S.articles.c.outlet_id))
        .group_by(S.outlets.c.name)
    )
    for name, n in conn.execute(q):
        per[name or Q.UNKNOWN] = {"outlet": name or Q.UNKNOWN, "articles": n, "reusing": 0, "share": 0.0,
                                  "reused": 0}

    def count_by_outlet(article_col: sa.ColumnElement[int], key: str) -> None:
        q = (
            sa.select(S.outlets.c.name, sa.func.count(sa.distinct(article_col)))
            .select_from(L.join(S.articles, S.articles.c.id == article_col).join(sel, sel.c.id == article_col)
                         .outerjoin(S.outlets, S.outlets.c.id == S.articles.c.outlet_id))
            .where(reusing)
            .group_by(S.outlets.c.name)
        )
        for name, n in conn.execute(q):
            per[name or Q.UNKNOWN][key] = n

    count_by_outlet(L.c.copy_id, "reusing")
    count_by_outlet(L.c.source_id, "reused")
    outlets: Q.Rows[dict[str, Any]] = Q.Rows()
    for name in sorted(per):
        row = per[name]
        row["share"] = round(row["reusing"] / row["articles"], 4) if row["articles"] else 0.0
        outlets.append(row)

    q = (
        sa.select(src_o.c.name, cp_o.c.name, sa.func.count(),
                  sa.func.sum(sa.case((L.c.kind == "verbatim", 1), else_=0)),
                  sa.func.sum(sa.case((L.c.kind == "reworded", 1), else_=0)))
        .select_from(
            L.join(cp_a, cp_a.c.id == L.c.copy_id).join(sel, sel.c.id == L.c.copy_id)
            .join(src_a, src_a.c.id == L.c.source_id)
            .outerjoin(src_o, src_o.c.id == src_a.c.outlet_id).outerjoin(cp_o, cp_o.c.id == cp_a.c.outlet_id)
        )
        .where(reusing)
        .group_by(src_o.c.name, cp_o.c.name)
    )
    flows: Q.Rows[dict[str, Any]] = Q.Rows(
        {"source_outlet": s or Q.UNKNOWN, "copy_outlet": c or Q.UNKNOWN, "links": int(n),
         "verbatim": int(v or 0), "reworded": int(w or 0)}
        for s, c, n, v, w in conn.execute(q)
    )
    flows.sort(key=lambda r: (-r["links"], r["source_outlet"], r["copy_outlet"]))
    return ReuseStats(outlets=outlets, flows=flows)
