"""Sentence and article scores from technique spans.

A sentence is *propagandistic* (flagged) when it contains, i.e. overlaps, at least one technique span, as in
the NLP4IF-2019 sentence-level task. Its ``score`` is the probability that at least one span overlapping it
is a real technique span, taking the spans as independent: ``1 - prod(1 - p)``, where ``p`` of a span is
the sum of the confidences of its technique labels (a span carrying two techniques is one span), capped at 1.

The article ``score`` is the confidence-weighted share of its text inside technique spans: each
non-whitespace character counts with the highest ``p`` of the spans covering it (0 outside spans), and the
score is their mean (0 to 1; the expected share of the article's characters that lie in technique spans).
With the calibrated confidences (issue 12), on the default model's held-out train fold it ranks articles by
their gold share of technique characters with Spearman 0.742, against 0.639 for the mean sentence score (the
first design), 0.733 for the unweighted share of characters in spans, 0.725 for the share of flagged
sentences and 0.735 for the mean token probability of the tagger; on dev it does best of them too (0.470;
0.408-0.459 for the others): ``python benchmarks/score_designs.py --tokens``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

# Sentence ends: runs of . ! ? (with closing quotes or brackets) before whitespace, and line breaks.
_SENT_END = re.compile(r"[.!?]+[\"'”’)\]]*(?=\s)|\n+")
# A period after these words (or after a single capital letter, as in initials and "U.S.") ends no sentence.
_ABBREV = frozenset(
    "mr mrs ms dr prof st jr sr gen col lt sgt capt gov sen rep rev vs jan feb mar apr jun jul aug sep sept "
    "oct nov dec".split()
)
_LAST_WORD = re.compile(r"(?:^|\s)[(\"'“‘]*([\w.]+)$")


@dataclass(frozen=True)
class SentenceScore:
    start: int
    end: int
    score: float
    n_spans: int


def _is_abbreviation(text: str, end: int) -> bool:
    """Whether the single period ending at ``end`` belongs to an abbreviation or an initial."""
    m = _LAST_WORD.search(text, max(0, end - 20), end)
    if m is None:
        return False
    word = m.group(1)[:-1]  # without the final period
    if not word:
        return False
    if len(word) == 1 and word.isupper():
        return True  # an initial: "George W. Bush"
    if "." in word and all(len(p) == 1 for p in word.split(".")):
        return True  # "U.S.", "e.g."
    return word.lower() in _ABBREV


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Character ranges ``(start, end)`` of the sentences of ``text``: line breaks always end a sentence,
    and so does sentence-final punctuation followed by whitespace, except a single period after an
    abbreviation (Mr., Dr., U.S., ...) or an initial. Leading and trailing whitespace is left out and
    empty pieces are dropped, so ``text[start:end]`` is the sentence exactly."""
    out: list[tuple[int, int]] = []
    pos = 0
    for m in _SENT_END.finditer(text):
        if m.group() == "." and _is_abbreviation(text, m.end()):
            continue
        _add(text, pos, m.end(), out)
        pos = m.end()
    _add(text, pos, len(text), out)
    return out


def _add(text: str, start: int, end: int, out: list[tuple[int, int]]) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end > start:
        out.append((start, end))


def span_probabilities(spans: Sequence[tuple[int, int, float]]) -> dict[tuple[int, int], float]:
    """The probability of each distinct ``(start, end)`` being a technique span: the sum of the
    confidences of its technique labels, capped at 1."""
    p: dict[tuple[int, int], float] = {}
    for s, e, c in spans:
        p[(s, e)] = min(1.0, p.get((s, e), 0.0) + c)
    return p


def score_sentences(
    text: str, spans: Sequence[tuple[int, int, float]]
) -> list[SentenceScore]:
    """Score each sentence of ``text`` from ``(start, end, confidence)`` spans (one per technique label);
    ``n_spans`` counts the labels overlapping the sentence.

    One sweep over the sentences and the spans sorted by start (a long article has tens of thousands of
    both, and one very long span must not make it quadratic)."""
    probs = sorted(span_probabilities(spans).items())
    rows = sorted((a, b) for a, b, _c in spans)
    result = []
    nxt_p = nxt_r = 0
    active_p: list[tuple[int, float]] = []  # (end, p) of distinct spans starting before the sentence ends
    active_r: list[int] = []  # ends of the labels starting before the sentence ends
    for s, e in split_sentences(text):
        while nxt_p < len(probs) and probs[nxt_p][0][0] < e:
            active_p.append((probs[nxt_p][0][1], probs[nxt_p][1]))
            nxt_p += 1
        while nxt_r < len(rows) and rows[nxt_r][0] < e:
            active_r.append(rows[nxt_r][1])
            nxt_r += 1
        active_p = [x for x in active_p if x[0] > s]  # sentences only move right: dropped ones stay dropped
        active_r = [b for b in active_r if b > s]
        miss = 1.0
        for _b, p in active_p:
            miss *= 1.0 - p
        result.append(SentenceScore(s, e, round(1.0 - miss, 4), len(active_r)))
    return result


def article_score(text: str, spans: Sequence[tuple[int, int, float]]) -> float:
    """The confidence-weighted share of the non-whitespace characters of ``text`` that lie in technique
    spans (0 for a text with no such characters)."""
    weight = np.zeros(len(text), dtype=np.float64)
    for (s, e), p in span_probabilities(spans).items():
        np.maximum(weight[s:e], p, out=weight[s:e])
    keep = np.fromiter((not ch.isspace() for ch in text), dtype=bool, count=len(text))
    if not keep.any():
        return 0.0
    return round(float(weight[keep].mean()), 4)
