"""Passage alignment that survives rewording: shared word n-grams as seeds, chained along the text, extended.

Both texts are split into words (case-folded). Every word ``n``-gram of the copy that also occurs in the
source (and at most ``max_occ`` times in either, so that repeated phrases cannot blow up) is a seed (i, j):
source word i, copy word j. Seeds are chained in copy order: a seed joins the chain it follows within ``gap``
words on both sides without drifting more than ``gap`` words off the chain's diagonal, else it starts a new
chain. A changed word breaks only the n-grams that hold it, so a lightly reworded sentence still chains.
Chains that overlap are merged; each is then extended word by word while the words are equal and kept when it
covers at least ``min_words`` copy words. Its similarity is the share of the passage's words (both sides
together) covered by seeds: 1.0 for a verbatim copy, about the share of unchanged words for a reworded one.
Work is linear in the text lengths (plus the number of seeds), also for a 5 MB article.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .shingles import WORD, shingle_hashes, word_hashes


@dataclass(frozen=True)
class AlignParams:
    """Alignment settings; the defaults are those measured in docs/trace.md."""

    n: int = 3
    gap: int = 12
    max_occ: int = 4
    min_words: int = 12
    min_similarity: float = 0.3
    min_seeds: int = 3


@dataclass
class Tokens:
    """The words of a text: character offsets and 32-bit hashes of the case-folded words."""

    starts: np.ndarray
    ends: np.ndarray
    hashes: np.ndarray

    def __len__(self) -> int:
        return len(self.starts)


def tokenize(text: str) -> Tokens:
    """Split ``text`` into words with their character offsets."""
    spans = [(m.start(), m.end()) for m in WORD.finditer(text)]
    ws = [text[s:e].casefold() for s, e in spans]
    arr = np.array(spans, dtype=np.int64).reshape(-1, 2)
    return Tokens(arr[:, 0], arr[:, 1], word_hashes(ws))


@dataclass(frozen=True)
class RawPassage:
    """An aligned passage in word indices (end exclusive) with its similarity."""

    src_start: int
    src_end: int
    cp_start: int
    cp_end: int
    similarity: float


def seeds(src: Tokens, cp: Tokens, p: AlignParams) -> tuple[np.ndarray, np.ndarray]:
    """Seed positions (source word, copy word) of shared n-grams, sorted by copy word then source word."""
    sa = shingle_hashes(src.hashes, p.n)
    sb = shingle_hashes(cp.hashes, p.n)
    if len(sa) == 0 or len(sb) == 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    order = np.argsort(sa, kind="stable")
    sorted_a = sa[order]
    lo = np.searchsorted(sorted_a, sb, "left")
    hi = np.searchsorted(sorted_a, sb, "right")
    cnt = hi - lo
    # n-grams repeated in the copy more than max_occ times are dropped too
    ub, inv, cb = np.unique(sb, return_inverse=True, return_counts=True)
    ok = (cnt >= 1) & (cnt <= p.max_occ) & (cb[inv] <= p.max_occ)
    js = np.flatnonzero(ok)
    if len(js) == 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    reps = cnt[js]
    j_all = np.repeat(js, reps)
    offs = np.arange(len(j_all)) - np.repeat(np.cumsum(reps) - reps, reps)
    i_all = order[np.repeat(lo[js], reps) + offs]
    return i_all.astype(np.int64), j_all.astype(np.int64)


def _chains(i_all: np.ndarray, j_all: np.ndarray, gap: int) -> list[list[int]]:
    """Group seed numbers into chains (see the module docstring)."""
    chains: list[list[int]] = []
    last: list[tuple[int, int]] = []
    active: list[int] = []
    for k, (i, j) in enumerate(zip(i_all.tolist(), j_all.tolist(), strict=True)):
        best, best_cost = -1, None
        still = []
        for c in active:
            li, lj = last[c]
            dj = j - lj
            if dj > gap:
                continue
            still.append(c)
            di = i - li
            if dj < 0 or di < -1 or di > gap or abs(di - dj) > gap:
                continue
            cost = dj + abs(di - dj)
            if best_cost is None or cost < best_cost:
                best, best_cost = c, cost
        active = still
        if best < 0:
            chains.append([k])
            last.append((i, j))
            active.append(len(chains) - 1)
        else:
            chains[best].append(k)
            if j > last[best][1] or i > last[best][0]:
                last[best] = (max(i, last[best][0]), max(j, last[best][1]))
    return chains


def _covered(starts: np.ndarray, n: int, lo: int, hi: int) -> int:
    """Words in [lo, hi) covered by n-grams starting at ``starts``."""
    if len(starts) == 0:
        return 0
    mask = np.zeros(hi - lo, dtype=bool)
    for s in np.unique(starts).tolist():
        mask[max(0, s - lo) : max(0, min(hi, s + n) - lo)] = True
    return int(mask.sum())


def align_tokens(src: Tokens, cp: Tokens, p: AlignParams | None = None) -> list[RawPassage]:
    """Aligned passages between two tokenised texts, in copy order, not overlapping on either side."""
    p = p or AlignParams()
    i_all, j_all = seeds(src, cp, p)
    if len(i_all) == 0:
        return []
    boxes = []
    for ch in _chains(i_all, j_all, p.gap):
        ci, cj = i_all[ch], j_all[ch]
        if len(ch) < p.min_seeds:
            continue  # a lone shared phrase ("in Idlib will") is no passage and must not stretch one
        boxes.append([int(ci.min()), int(ci.max()) + p.n, int(cj.min()), int(cj.max()) + p.n, ch])
    boxes.sort(key=lambda b: (b[2], b[0]))
    merged: list[list] = []
    for b in boxes:
        if merged:
            m = merged[-1]
            if b[2] <= m[3] and b[0] < m[1] + p.gap and b[1] > m[0] - p.gap:
                m[0], m[1] = min(m[0], b[0]), max(m[1], b[1])
                m[3] = max(m[3], b[3])
                m[4] = m[4] + b[4]
                continue
        merged.append(list(b))
    out: list[RawPassage] = []
    taken_src: list[tuple[int, int]] = []
    for s0, s1, c0, c1, ch in merged:
        cov_b = _covered(j_all[ch], p.n, c0, c1)
        if cov_b < p.min_words:
            continue
        if any(s0 < t1 and t0 < s1 for t0, t1 in taken_src):
            continue  # the same source text aligned twice (a repeated paragraph): keep the first
        cov_a = _covered(i_all[ch], p.n, s0, s1)
        ext = 0  # words gained by extension count as matched on both sides
        while s0 > 0 and c0 > 0 and src.hashes[s0 - 1] == cp.hashes[c0 - 1]:
            s0, c0, ext = s0 - 1, c0 - 1, ext + 1
        while s1 < len(src) and c1 < len(cp) and src.hashes[s1] == cp.hashes[c1]:
            s1, c1, ext = s1 + 1, c1 + 1, ext + 1
        sim = min(1.0, (cov_a + cov_b + 2 * ext) / max(1, (s1 - s0) + (c1 - c0)))
        if sim < p.min_similarity:
            continue
        taken_src.append((s0, s1))
        out.append(RawPassage(s0, s1, c0, c1, sim))
    return out
