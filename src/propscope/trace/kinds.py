"""Kinds of reuse: verbatim copy, light rewording, or shared quotation only.

Definitions (each aligned passage first, then the pair):

- a passage is a **quotation** when at least ``QUOTED`` (80%) of its characters lie inside quotation marks in
  both articles: both quote the same words, which proves a common speaker, not that one copied the other;
- otherwise it is **verbatim** when its similarity (share of its words matched in order, see
  ``propscope.trace.align``) is at least ``VERBATIM`` (0.95, at most about one word in twenty differs), else
  **reworded**;
- a pair is a **quotation** pair when quotation passages hold at least ``QUOTED`` of the copy's aligned
  characters; else **verbatim** when the non-quotation passages, weighted by length, reach ``VERBATIM``; else
  **reworded**.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Sequence

from .model import Kind

QUOTED = 0.8
VERBATIM = 0.95

_QUOTE = re.compile(r"[“\"«„]([^“”\"«»„]{1,5000})[”\"»“]")


def quote_intervals(text: str) -> list[tuple[int, int]]:
    """Character ranges of the quotations in ``text`` (marks included), sorted, not overlapping."""
    return [(m.start(), m.end()) for m in _QUOTE.finditer(text)]


def quoted_chars(intervals: Sequence[tuple[int, int]], start: int, end: int) -> int:
    """How many characters of ``[start, end)`` lie inside the quotation ``intervals``."""
    if end <= start or not intervals:
        return 0
    k = max(0, bisect_right(intervals, (start, 1 << 62)) - 1)
    total = 0
    while k < len(intervals) and intervals[k][0] < end:
        s, e = intervals[k]
        total += max(0, min(e, end) - max(s, start))
        k += 1
    return total


def passage_kind(similarity: float, source_quoted: float, copy_quoted: float) -> Kind:
    """The kind of one passage from its similarity and the quoted share of its two sides."""
    if source_quoted >= QUOTED and copy_quoted >= QUOTED:
        return "quotation"
    return "verbatim" if similarity >= VERBATIM else "reworded"


def pair_kind(passages: Sequence[tuple[int, float, Kind]]) -> Kind:
    """The kind of a pair from its passages given as (copy characters, similarity, kind)."""
    total = sum(n for n, _, _ in passages)
    quoted = sum(n for n, _, k in passages if k == "quotation")
    if total == 0 or quoted >= QUOTED * total:
        return "quotation"
    rest = [(n, s) for n, s, k in passages if k != "quotation"]
    weighted = sum(n * s for n, s in rest) / max(1, sum(n for n, _ in rest))
    return "verbatim" if weighted >= VERBATIM else "reworded"
