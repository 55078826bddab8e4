"""Sentence and article scores from technique spans.

A sentence is *propagandistic* when it contains (overlaps) a technique span, as in the NLP4IF-2019
sentence-level task. Its ``score`` is the probability that at least one of the spans overlapping it is a
real technique span, taking the span confidences as independent: ``1 - prod(1 - confidence)``.
The article ``score`` is the share of the article's sentences that are propagandistic, each counted by
its score (the expected share of propagandistic sentences, 0 to 1).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

_SENT_END = re.compile(r"[.!?]+[\"'”’)\]]*(?=\s)|\n+")


@dataclass(frozen=True)
class SentenceScore:
    start: int
    end: int
    score: float
    n_spans: int


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Character ranges of the sentences of ``text``: lines are split at sentence-final punctuation;
    leading and trailing whitespace is left out, empty pieces are dropped."""
    out: list[tuple[int, int]] = []
    pos = 0
    for m in _SENT_END.finditer(text):
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


def score_sentences(
    text: str, spans: Sequence[tuple[int, int, float]]
) -> list[SentenceScore]:
    """Score each sentence of ``text`` from ``(start, end, confidence)`` spans.

    One sweep over the sentences and the spans sorted by start (a long article has tens of thousands of
    both); the spans of a sentence are multiplied in their given order."""
    result = []
    order = sorted(range(len(spans)), key=lambda k: spans[k][0])
    nxt = 0
    active: list[int] = []  # spans that start before the current sentence ends and may still overlap it
    for s, e in split_sentences(text):
        while nxt < len(order) and spans[order[nxt]][0] < e:
            active.append(order[nxt])
            nxt += 1
        active = [k for k in active if spans[k][1] > s]
        confs = [spans[k][2] for k in sorted(active) if spans[k][0] < e]
        miss = 1.0
        for c in confs:
            miss *= 1.0 - c
        result.append(SentenceScore(s, e, round(1.0 - miss, 4), len(confs)))
    return result


def article_score(sentences: Sequence[SentenceScore]) -> float:
    """The expected share of propagandistic sentences (0 when the article has none)."""
    if not sentences:
        return 0.0
    return round(sum(s.score for s in sentences) / len(sentences), 4)
