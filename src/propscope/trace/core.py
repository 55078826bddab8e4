"""trace(): candidate pairs, alignment, kinds, direction and families for a set of articles, in one process.

The stages (``prepare``, ``candidate_pairs``, ``link_pairs``, ``finish``) are also the steps that
``propscope.scale.ray`` distributes, so that both modes give the same result.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from ..schema import Article
from .align import AlignParams, Tokens, align_tokens, tokenize
from .families import families
from .kinds import pair_kind, passage_kind, quote_intervals, quoted_chars
from .model import Passage, ReuseLink, TraceInput, TraceResult, TraceStats, compare_dates, parse_date
from .shingles import LshParams, article_keys, bucket_pairs, words


@dataclass(frozen=True)
class TraceParams:
    """All settings of a trace run."""

    lsh: LshParams = field(default_factory=LshParams)
    align: AlignParams = field(default_factory=AlignParams)
    include_quotation_in_families: bool = False
    boilerplate_outlet_df: int = 3
    boilerplate_df: int = 10


def to_input(item: TraceInput | Article) -> TraceInput:
    """A TraceInput from an Article (its ``site`` is the outlet) or a TraceInput."""
    if isinstance(item, TraceInput):
        return item
    return TraceInput(
        id=item.id, text=item.text, published=item.published, outlet=item.site, title=item.title
    )


def _date_key(published: str | None, aid: str) -> tuple:
    d = parse_date(published)
    if d is None:
        return (1, "", aid)
    return (0, d.isoformat(), aid)


@dataclass
class Prepared:
    """Articles in order of publication (undated last) and what the first stage found."""

    items: list[TraceInput]
    eligible: list[int]
    masked: dict[int, str]
    duplicate_links: list[ReuseLink]
    stats: TraceStats
    warnings: list[str]


def prepare(articles: Iterable[TraceInput | Article], params: TraceParams) -> Prepared:
    """Order articles by date, make ids unique, set aside empty/too short ones and identical duplicates."""
    items = [to_input(a) for a in articles]
    warnings: list[str] = []
    seen: dict[str, int] = {}
    for k, it in enumerate(items):
        if it.id in seen:
            seen[it.id] += 1
            new = f"{it.id}#{seen[it.id]}"
            warnings.append(f"{it.id}: id used by more than one article; this one is traced as {new}")
            items[k] = it.model_copy(update={"id": new})
        else:
            seen[it.id] = 1
        if it.published and parse_date(it.published) is None:
            warnings.append(f"{it.id}: unreadable date {it.published!r}; traced as undated")
    items.sort(key=lambda it: _date_key(it.published, it.id))
    stats = TraceStats(articles=len(items))
    first_by_text: dict[bytes, int] = {}
    distinct: list[int] = []
    dup_links: list[ReuseLink] = []
    for k, it in enumerate(items):
        ws = words(it.text)
        if len(ws) < params.align.min_words:
            stats.too_short += 1
            continue
        digest = hashlib.blake2b(" ".join(ws).encode("utf-8"), digest_size=16).digest()
        first = first_by_text.get(digest)
        if first is None:
            first_by_text[digest] = k
            distinct.append(k)
        else:
            stats.duplicates += 1
            dup_links.append(_duplicate_link(items[first], it))
    local, n_lines = mask_boilerplate([items[k] for k in distinct], params)
    masked = {distinct[i]: t for i, t in local.items()}
    if n_lines:
        warnings.append(
            f"{n_lines} distinct lines found in {params.boilerplate_outlet_df}+ articles of one outlet "
            f"(or {params.boilerplate_df}+ articles without outlet) were left out as boilerplate"
        )
    eligible = [k for k in distinct if k not in masked or len(words(masked[k])) >= params.align.min_words]
    stats.too_short += len(distinct) - len(eligible)
    return Prepared(items, eligible, masked, dup_links, stats, warnings)


def _line_keys(text: str) -> list[tuple[int, int, bytes]]:
    """(start, end, key) of each line of at least 3 words; the key hashes its case-folded words."""
    out, pos = [], 0
    for line in text.split("\n"):
        ws = words(line)
        if len(ws) >= 3:
            out.append((pos, pos + len(line), hashlib.blake2b(" ".join(ws).encode(), digest_size=8).digest()))
        pos += len(line) + 1
    return out


def mask_boilerplate(items: Sequence[TraceInput], params: TraceParams) -> tuple[dict[int, str], int]:
    """Texts with boilerplate lines blanked out (same length, so offsets hold), by article index.

    A line is boilerplate (a poll, a sign-up box, an author note) when it is found in
    ``boilerplate_outlet_df`` or more articles of the same outlet, or, among articles without outlet, in
    ``boilerplate_df`` or more. Lines of a story that several outlets copy are not affected when outlets are
    known.
    """
    keys = [_line_keys(it.text) for it in items]
    count: dict[tuple[str | None, bytes], int] = {}
    for it, ks in zip(items, keys, strict=True):
        for key in {k for _, _, k in ks}:
            count[(it.outlet, key)] = count.get((it.outlet, key), 0) + 1
    masked: dict[int, str] = {}
    bad: set[bytes] = set()
    for n, (it, ks) in enumerate(zip(items, keys, strict=True)):
        limit = params.boilerplate_df if it.outlet is None else params.boilerplate_outlet_df
        cut = [(s, e) for s, e, k in ks if count[(it.outlet, k)] >= limit]
        if cut:
            bad.update(k for _, _, k in ks if count[(it.outlet, k)] >= limit)
            chars = list(it.text)
            for s, e in cut:
                chars[s:e] = " " * (e - s)
            masked[n] = "".join(chars)
    return masked, len(bad)


def _direction(a: TraceInput, b: TraceInput) -> tuple[TraceInput, TraceInput, str]:
    """(source, copy, direction) for two articles, ``a`` first when dates cannot tell."""
    c = compare_dates(a.published, b.published)
    if c == 1:
        return b, a, "dates"
    return a, b, "dates" if c == -1 else "unknown"


def _duplicate_link(first: TraceInput, other: TraceInput) -> ReuseLink:
    src, cp, direction = _direction(first, other)
    passage = Passage(
        source_start=0,
        source_end=len(src.text),
        copy_start=0,
        copy_end=len(cp.text),
        similarity=1.0,
        kind="verbatim",
        source_text=src.text,
        copy_text=cp.text,
    )
    return _link(src, cp, direction, [passage])


def _union_length(ranges: list[tuple[int, int]]) -> int:
    total, cur_s, cur_e = 0, -1, -1
    for s, e in sorted(ranges):
        if s > cur_e:
            total += max(0, cur_e - cur_s)
            cur_s, cur_e = s, e
        else:
            cur_e = max(cur_e, e)
    return total + max(0, cur_e - cur_s)


def _link(src: TraceInput, cp: TraceInput, direction: str, passages: list[Passage]) -> ReuseLink:
    n_cp = sum(p.copy_end - p.copy_start for p in passages)
    sim = sum((p.copy_end - p.copy_start) * p.similarity for p in passages) / max(1, n_cp)
    kind = pair_kind([(p.copy_end - p.copy_start, p.similarity, p.kind) for p in passages])
    share = _union_length([(p.copy_start, p.copy_end) for p in passages]) / max(1, len(cp.text))
    src_share = _union_length([(p.source_start, p.source_end) for p in passages]) / max(1, len(src.text))
    return ReuseLink(
        source=src.id,
        copy=cp.id,
        direction=direction,
        kind=kind,
        share=round(min(1.0, share), 4),
        source_share=round(min(1.0, src_share), 4),
        similarity=round(min(1.0, sim), 4),
        source_published=src.published,
        copy_published=cp.published,
        source_outlet=src.outlet,
        copy_outlet=cp.outlet,
        passages=passages,
    )


def link_pair(
    a: TraceInput,
    b: TraceInput,
    params: AlignParams | None = None,
    tokens: dict[str, Tokens] | None = None,
    masked: dict[str, str] | None = None,
) -> ReuseLink | None:
    """Align two articles; a ReuseLink when they share at least one passage, else None.

    ``tokens`` is an optional cache of tokenised texts by article id; ``masked`` texts with boilerplate
    blanked out, by id (see ``mask_boilerplate``).
    """
    src, cp, direction = _direction(a, b)

    def tok(it: TraceInput) -> Tokens:
        text = masked.get(it.id, it.text) if masked else it.text
        if tokens is None:
            return tokenize(text)
        if it.id not in tokens:
            tokens[it.id] = tokenize(text)
        return tokens[it.id]

    ts, tc = tok(src), tok(cp)
    raw = align_tokens(ts, tc, params)
    if not raw:
        return None
    qs, qc = quote_intervals(src.text), quote_intervals(cp.text)
    passages = []
    for r in raw:
        s0, s1 = int(ts.starts[r.src_start]), int(ts.ends[r.src_end - 1])
        c0, c1 = int(tc.starts[r.cp_start]), int(tc.ends[r.cp_end - 1])
        fs = quoted_chars(qs, s0, s1) / max(1, s1 - s0)
        fc = quoted_chars(qc, c0, c1) / max(1, c1 - c0)
        passages.append(
            Passage(
                source_start=s0,
                source_end=s1,
                copy_start=c0,
                copy_end=c1,
                similarity=round(r.similarity, 4),
                kind=passage_kind(r.similarity, fs, fc),
                source_text=src.text[s0:s1],
                copy_text=cp.text[c0:c1],
            )
        )
    return _link(src, cp, direction, passages)


def candidate_pairs(prep: Prepared, params: TraceParams) -> np.ndarray:
    """Candidate pairs (indices into ``prep.items``, i < j) from MinHash LSH over the eligible articles."""
    keys, idx = [], []
    for k in prep.eligible:
        kk, nw = article_keys(prep.masked.get(k, prep.items[k].text), params.lsh)
        prep.stats.windows += nw
        keys.append(kk)
        idx.append(np.full(len(kk), k, dtype=np.int32))  # int32: a quarter less memory for key rows
    if not keys:
        return np.empty((0, 2), dtype=np.int64)
    pairs, capped = bucket_pairs(np.concatenate(keys), np.concatenate(idx), params.lsh)
    prep.stats.capped_buckets += capped
    return pairs


def link_pairs(
    items: Sequence[TraceInput], pairs: np.ndarray, params: AlignParams, masked: dict[int, str] | None = None
) -> list[ReuseLink]:
    """Align every candidate pair; the links found, in pair order."""
    by_id = {items[k].id: t for k, t in (masked or {}).items()}
    cache: dict[str, Tokens] = {}
    out = []
    last_i = -1
    for i, j in pairs.tolist():
        if i != last_i:  # pairs come sorted by i: keep only the current source's tokens and its partners'
            if len(cache) > 4096:
                cache.clear()
            last_i = i
        lk = link_pair(items[i], items[j], params, cache, by_id)
        if lk is not None:
            out.append(lk)
    return out


def finish(prep: Prepared, links: list[ReuseLink], params: TraceParams) -> TraceResult:
    """Sort the links, build families and fill in the counts."""
    all_links = prep.duplicate_links + links
    all_links.sort(key=lambda lk: (lk.copy_id, lk.source))
    published = {it.id: it.published for it in prep.items}
    fams = families(all_links, published, include_quotation=params.include_quotation_in_families)
    prep.stats.links = len(all_links)
    if prep.stats.capped_buckets:
        prep.warnings.append(
            f"{prep.stats.capped_buckets} LSH buckets held more than {params.lsh.cap} articles "
            f"(boilerplate or a widely quoted text); their members were paired "
            f"only with the {params.lsh.fallback} earliest"
        )
    return TraceResult(links=all_links, families=fams, stats=prep.stats, warnings=prep.warnings)


def trace(articles: Iterable[TraceInput | Article], params: TraceParams | None = None) -> TraceResult:
    """Find the articles that share text, with aligned passages, kind, direction and story families.

    >>> from propscope.trace import TraceInput, trace
    >>> result = trace([TraceInput(id="a", text=..., published="2018-09-07"), ...])
    >>> [(lk.source, lk.copy_id, lk.kind, lk.share) for lk in result.links]
    """
    params = params or TraceParams()
    t0 = time.perf_counter()
    prep = prepare(articles, params)
    t1 = time.perf_counter()
    pairs = candidate_pairs(prep, params)
    prep.stats.candidate_pairs = len(pairs)
    t2 = time.perf_counter()
    links = link_pairs(prep.items, pairs, params.align, prep.masked)
    prep.stats.aligned_pairs = len(pairs)
    t3 = time.perf_counter()
    result = finish(prep, links, params)
    result.stats.seconds = {
        "prepare": round(t1 - t0, 3),
        "candidates": round(t2 - t1, 3),
        "align": round(t3 - t2, 3),
        "finish": round(time.perf_counter() - t3, 3),
    }
    return result
