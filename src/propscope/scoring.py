"""SemEval-2020 Task 11 scores: span identification (SI) and technique classification (TC).

SI (per article, predicted and gold spans each merged where they overlap):
    P = (1/|S|) sum_s sum_g |s∩g|/|s|,  R = (1/|G|) sum_s sum_g |s∩g|/|g|,  F1 = 2PR/(P+R),
summed over the whole set. TC: precision = matched rows / predicted rows, recall = matched rows / gold
rows, micro-F1 their harmonic mean (= matched / gold rows when there is one prediction per gold row, as in the
shared task), with rows of the same (id, start, end) matched as multisets of techniques.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .techniques import TECHNIQUES


def merge_spans(spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sort spans and merge those that overlap (touching spans stay apart)."""
    out: list[list[int]] = []
    for s, e in sorted(spans):
        if e <= s:
            continue
        if out and s < out[-1][1]:
            out[-1][1] = max(out[-1][1], e)
        else:
            out.append([s, e])
    return [(s, e) for s, e in out]


@dataclass(frozen=True)
class SiScore:
    precision: float
    recall: float
    f1: float
    n_pred: int
    n_gold: int


def _overlap(a: tuple[int, int], b: tuple[int, int]) -> int:
    return max(0, min(a[1], b[1]) - max(a[0], b[0]))


def score_si(pred: Iterable[tuple[str, int, int]], gold: Iterable[tuple[str, int, int]]) -> SiScore:
    """SI precision, recall and F1 of ``pred`` rows ``(id, start, end)`` against ``gold`` rows."""
    P: dict[str, list] = defaultdict(list)
    G: dict[str, list] = defaultdict(list)
    for aid, s, e in pred:
        P[aid].append((s, e))
    for aid, s, e in gold:
        G[aid].append((s, e))
    psum = rsum = 0.0
    n_pred = n_gold = 0
    for aid in set(P) | set(G):
        ps, gs = merge_spans(P.get(aid, [])), merge_spans(G.get(aid, []))
        n_pred += len(ps)
        n_gold += len(gs)
        for s in ps:
            for g in gs:
                ov = _overlap(s, g)
                if ov:
                    psum += ov / (s[1] - s[0])
                    rsum += ov / (g[1] - g[0])
    p = psum / n_pred if n_pred else 0.0
    r = rsum / n_gold if n_gold else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return SiScore(p, r, f, n_pred, n_gold)


@dataclass(frozen=True)
class TcScore:
    micro_f1: float
    matched: int
    n_gold: int
    n_pred: int
    per_technique: dict[str, dict[str, float]]
    precision: float = 0.0  # matched / predicted rows
    recall: float = 0.0  # matched / gold rows


def score_tc(pred: Iterable[tuple[str, str, int, int]], gold: Iterable[tuple[str, str, int, int]]) -> TcScore:
    """TC micro-F1 of ``pred`` rows ``(id, technique, start, end)`` against ``gold`` rows, plus per-technique
    precision/recall/F1. Rows sharing (id, start, end) are matched as multisets of techniques."""
    pg: dict[tuple, Counter] = defaultdict(Counter)
    gg: dict[tuple, Counter] = defaultdict(Counter)
    pred, gold = list(pred), list(gold)
    for aid, t, s, e in pred:
        pg[(aid, s, e)][t] += 1
    for aid, t, s, e in gold:
        gg[(aid, s, e)][t] += 1
    tp: Counter = Counter()
    for key, gc in gg.items():
        tp.update(gc & pg.get(key, Counter()))
    pc = Counter(t for _, t, _, _ in pred)
    gcnt = Counter(t for _, t, _, _ in gold)
    per: dict[str, dict[str, float]] = {}
    for t in TECHNIQUES:
        p = tp[t] / pc[t] if pc[t] else 0.0
        r = tp[t] / gcnt[t] if gcnt[t] else 0.0
        per[t] = {"precision": p, "recall": r, "f1": 2 * p * r / (p + r) if p + r else 0.0,
                  "support": float(gcnt[t])}
    matched = sum(tp.values())
    # With one prediction per gold row, precision = recall = micro-F1; in general use the harmonic mean.
    p = matched / len(pred) if pred else 0.0
    r = matched / len(gold) if gold else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return TcScore(f, matched, len(gold), len(pred), per, p, r)


@dataclass(frozen=True)
class SentenceLevelScore:
    precision: float
    recall: float
    f1: float
    n_pred: int
    n_gold: int
    n_sentences: int


def score_sentence_level(
    items: Iterable[tuple[str, Sequence[tuple[int, int]], Sequence[tuple[int, int]]]],
) -> SentenceLevelScore:
    """Sentence-level P/R/F1 (NLP4IF-2019 style) over ``(text, predicted spans, gold spans)`` articles: the
    text is split by ``split_sentences``; a sentence is gold-positive when it overlaps a gold span and
    predicted-positive when it overlaps a predicted span."""
    from .detect.scores import split_sentences

    tp = n_pred = n_gold = n = 0
    for text, pred, gold in items:
        for s, e in split_sentences(text):
            p = any(a < e and b > s for a, b in pred)
            g = any(a < e and b > s for a, b in gold)
            tp += p and g
            n_pred += p
            n_gold += g
            n += 1
    prec = tp / n_pred if n_pred else 0.0
    rec = tp / n_gold if n_gold else 0.0
    f = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
    return SentenceLevelScore(prec, rec, f, n_pred, n_gold, n)


def gold_density(text: str, gold: Sequence[tuple[int, int]]) -> float:
    """The share of the non-whitespace characters of ``text`` inside gold technique spans."""
    inside = [False] * len(text)
    for s, e in gold:
        inside[s:e] = [True] * (min(e, len(text)) - s)
    kept = [f for f, ch in zip(inside, text, strict=True) if not ch.isspace()]
    return sum(kept) / len(kept) if kept else 0.0


def _ranks(x: Sequence[float]) -> list[float]:
    order = sorted(range(len(x)), key=x.__getitem__)
    ranks = [0.0] * len(x)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and x[order[j + 1]] == x[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 + 1  # ties share their mean rank
        i = j + 1
    return ranks


def spearman(x: Sequence[float], y: Sequence[float]) -> float:
    """Spearman's rank correlation of ``x`` and ``y`` (ties get their mean rank); 0.0 when either is
    constant or there are fewer than two values."""
    if len(x) != len(y):
        raise ValueError(f"spearman: {len(x)} values against {len(y)}")
    if len(x) < 2:
        return 0.0
    rx, ry = _ranks(x), _ranks(y)
    mx, my = sum(rx) / len(rx), sum(ry) / len(ry)
    cov = sum((a - mx) * (b - my) for a, b in zip(rx, ry, strict=True))
    vx = sum((a - mx) ** 2 for a in rx)
    vy = sum((b - my) ** 2 for b in ry)
    return cov / (vx * vy) ** 0.5 if vx and vy else 0.0
