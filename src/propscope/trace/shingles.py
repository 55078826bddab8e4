"""Candidate pairs: word shingles, MinHash signatures of overlapping text windows (datasketch), LSH banding.

An article's words are cut into word ``n``-grams (shingles); every window of ``window`` shingles (windows
overlap by half) gets a MinHash signature with datasketch's permutations, computed for all shingles of an
article at once (the same values as ``datasketch.MinHash.update_batch``, see ``minhash_reference``).
Signatures are cut into ``bands`` bands of ``rows`` values; two articles whose windows agree on a whole band
fall in the same bucket and become a candidate pair. Windows, not whole articles, so that a passage copied
into a longer article is found too. Buckets holding more than ``cap`` articles (boilerplate, a speech quoted
everywhere) do not make all their pairs: each member is paired only with the bucket's ``fallback`` first
members, so work stays linear.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

WORD = re.compile(r"\w+")
"""A word: a run of letters, digits or underscores (Unicode aware); text is case-folded first."""

_MASK32 = np.uint64(0xFFFFFFFF)
_SHINGLE_MULT = np.array(
    [
        0x9E3779B97F4A7C15,
        0xC2B2AE3D27D4EB4F,
        0x165667B19E3779F9,
        0x27D4EB2F165667C5,
        0x94D049BB133111EB,
        0xBF58476D1CE4E5B9,
        0xD6E8FEB86659FD93,
        0xFF51AFD7ED558CCD,
    ],
    dtype=np.uint64,
)
_BAND_MULT_SEED = 20181


@dataclass(frozen=True)
class LshParams:
    """Shingling and LSH settings. The defaults are those measured in docs/trace.md."""

    shingle: int = 3
    window: int = 40
    num_perm: int = 96
    bands: int = 32
    seed: int = 1
    cap: int = 50
    fallback: int = 2
    max_partners: int = 10
    min_hits: int = 2

    @property
    def rows(self) -> int:
        return self.num_perm // self.bands

    def __post_init__(self) -> None:
        if self.num_perm % self.bands:
            raise ValueError(f"num_perm {self.num_perm} is not a multiple of bands {self.bands}")
        if self.shingle < 1 or self.shingle > len(_SHINGLE_MULT) or self.window < 2:
            raise ValueError("shingle must be 1..8 and window at least 2")


def words(text: str) -> list[str]:
    """The case-folded words of ``text``."""
    return WORD.findall(text.casefold())


_word_cache: dict[str, int] = {}


def word_hashes(ws: Sequence[str]) -> np.ndarray:
    """A 32-bit hash per word (CRC-32 of its UTF-8 bytes: the same in every process, unlike ``hash``)."""
    cache = _word_cache
    if len(cache) > 2_000_000:
        cache.clear()
    out = np.empty(len(ws), dtype=np.uint64)
    for i, w in enumerate(ws):
        h = cache.get(w)
        if h is None:
            h = cache[w] = zlib.crc32(w.encode("utf-8"))
        out[i] = h
    return out


def shingle_hashes(wh: np.ndarray, n: int) -> np.ndarray:
    """A 32-bit hash per word ``n``-gram (uint64 array holding 32-bit values); empty when fewer words."""
    m = len(wh) - n + 1
    if m <= 0:
        return np.empty(0, dtype=np.uint64)
    acc = np.zeros(m, dtype=np.uint64)
    for k in range(n):
        acc += wh[k : k + m] * _SHINGLE_MULT[k]
    return acc >> np.uint64(32)


def _fmix32(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's 32-bit finaliser, as datasketch applies it before permuting (affine32 scheme)."""
    h = h.astype(np.uint32)
    h ^= h >> np.uint32(16)
    h *= np.uint32(0x85EBCA6B)
    h ^= h >> np.uint32(13)
    h *= np.uint32(0xC2B2AE35)
    h ^= h >> np.uint32(16)
    return h


@lru_cache(maxsize=8)
def permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """datasketch's permutation parameters (a, b) for ``num_perm`` and ``seed`` (affine32 scheme)."""
    from datasketch import MinHash

    a, b = MinHash(num_perm=num_perm, seed=seed).permutations
    return np.asarray(a, dtype=np.uint32), np.asarray(b, dtype=np.uint32)


def minhash_reference(values: Iterable[int], num_perm: int, seed: int = 1) -> np.ndarray:
    """The signature datasketch itself computes for these 32-bit shingle hashes (for tests and checks)."""
    from datasketch import MinHash

    m = MinHash(num_perm=num_perm, seed=seed, hashfunc=int)
    m.update_batch([int(v) for v in values])
    return np.asarray(m.hashvalues, dtype=np.uint32)


_BLOCK = 4096


def block_bounds(sh: np.ndarray, half: int) -> np.ndarray:
    """Start of each block of shingles, chosen by content: a block ends after a shingle whose hash is 0 modulo
    ``half`` (blocks of ``half`` shingles on average, at least ``half // 4``, at most ``2 * half``).

    Boundaries set by content, not by position, fall at the same words in a source and in its copy, and in
    every article that quotes the same speech, wherever the text sits in the article.
    """
    n = len(sh)
    if n == 0:
        return np.empty(0, dtype=np.int64)
    anchors = (np.flatnonzero(_fmix32(sh ^ np.uint64(0x5BD1E995)) % np.uint32(half) == 0) + 1).tolist()
    bounds = [0]
    lo, hi = max(1, half // 4), 2 * half
    for a in anchors + [n]:
        while a - bounds[-1] > hi:
            bounds.append(bounds[-1] + half)
        if a - bounds[-1] >= lo and a < n:
            bounds.append(a)
    return np.array(bounds, dtype=np.int64)


def window_signatures(sh: np.ndarray, params: LshParams) -> np.ndarray:
    """MinHash signatures (windows x num_perm, uint32) of windows of about ``params.window`` shingles.

    A window is two consecutive blocks (``block_bounds``), so windows overlap by half; an article of one block
    gets one signature.
    """
    a, b = permutations(params.num_perm, params.seed)
    n = len(sh)
    if n == 0:
        return np.empty((0, params.num_perm), dtype=np.uint32)
    bounds = block_bounds(sh, max(2, params.window // 2))
    halves = np.empty((len(bounds), params.num_perm), dtype=np.uint32)
    # a few blocks at a time keeps memory bounded on a 5 MB article
    group = max(1, _BLOCK // max(2, params.window // 2))
    for g in range(0, len(bounds), group):
        lo = int(bounds[g])
        hi = int(bounds[g + group]) if g + group < len(bounds) else n
        phv = _fmix32(sh[lo:hi]).reshape(-1, 1) * a + b  # uint32 arithmetic wraps mod 2^32, as in datasketch
        halves[g : g + group] = np.minimum.reduceat(phv, bounds[g : g + group] - lo, axis=0)
    if len(halves) == 1:
        return halves
    return np.minimum(halves[:-1], halves[1:])


@lru_cache(maxsize=8)
def _band_mult(params: LshParams) -> np.ndarray:
    rng = np.random.default_rng(_BAND_MULT_SEED)
    return rng.integers(1, 2**63, size=(params.bands, params.rows), dtype=np.uint64) | np.uint64(1)


def band_keys(sig: np.ndarray, params: LshParams) -> np.ndarray:
    """One 64-bit key per (window, band): the band's values hashed together with the band's number.

    Returns the distinct keys of the article (a window repeating another adds nothing), as int64.
    """
    if len(sig) == 0:
        return np.empty(0, dtype=np.int64)
    mult = _band_mult(params)
    v = sig.astype(np.uint64).reshape(len(sig), params.bands, params.rows)
    keys = (v * mult).sum(axis=2, dtype=np.uint64)
    keys ^= (np.arange(params.bands, dtype=np.uint64) + np.uint64(1)) * np.uint64(0x9E3779B97F4A7C15)
    return np.unique(keys.view(np.int64).ravel())


def article_keys(text: str, params: LshParams) -> tuple[np.ndarray, int]:
    """The band keys of an article and its number of windows."""
    sh = shingle_hashes(word_hashes(words(text)), params.shingle)
    sig = window_signatures(sh, params)
    return band_keys(sig, params), len(sig)


def bucket_pairs(keys: np.ndarray, idx: np.ndarray, params: LshParams) -> tuple[np.ndarray, int]:
    """Candidate pairs (i < j, int64 array of shape (k, 2)) from rows (band key, article index).

    Articles should be indexed in order of publication (earliest first), so that in a bucket over the cap
    every member is paired with the earliest ones. Returns the distinct pairs, at most ``max_partners`` best
    per article (``limit_partners``), and the number of capped buckets.
    """
    pairs, hits, capped = bucket_pair_hits(keys, idx, params)
    return select_pairs(pairs, hits, params), capped


def select_pairs(pairs: np.ndarray, hits: np.ndarray, params: LshParams) -> np.ndarray:
    """The pairs sharing at least ``min_hits`` buckets, at most ``max_partners`` best per article."""
    keep = hits >= params.min_hits
    return limit_partners(pairs[keep], hits[keep], params.max_partners)


def merge_pair_hits(parts: Sequence[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """Sum the hits of pairs counted in separate parts (shards of band keys)."""
    parts = [p for p in parts if len(p[0])]
    if not parts:
        return np.empty((0, 2), dtype=np.int64), np.empty(0, dtype=np.int64)
    pairs = np.concatenate([p for p, _ in parts])
    hits = np.concatenate([h for _, h in parts])
    uniq, inv = np.unique(pairs, axis=0, return_inverse=True)
    return uniq, np.bincount(inv.ravel(), weights=hits, minlength=len(uniq)).astype(np.int64)


def bucket_pair_hits(
    keys: np.ndarray, idx: np.ndarray, params: LshParams
) -> tuple[np.ndarray, np.ndarray, int]:
    """The distinct pairs of all buckets, how many buckets each pair shares, and the number of capped buckets.

    Keys in separate calls must not overlap (shards by key), so that hits add up (``merge_pair_hits``).
    """
    if len(keys) == 0:
        return np.empty((0, 2), dtype=np.int64), np.empty(0, dtype=np.int64), 0
    order = np.lexsort((idx, keys))
    k, ix = keys[order], idx[order]
    # drop repeated (key, idx) rows, then find runs of equal keys with at least two members
    keep = np.ones(len(k), dtype=bool)
    keep[1:] = (k[1:] != k[:-1]) | (ix[1:] != ix[:-1])
    k, ix = k[keep], ix[keep]
    bounds = np.flatnonzero(np.r_[True, k[1:] != k[:-1], True])
    sizes = np.diff(bounds)
    pairs: list[np.ndarray] = []
    capped = 0
    for s, size in zip(bounds[:-1][sizes > 1], sizes[sizes > 1], strict=True):
        members = ix[s : s + size]
        if size > params.cap:
            capped += 1
            first = members[: params.fallback]
            rest = members[params.fallback :]
            pairs.append(np.stack(np.broadcast_arrays(first[:, None], rest[None, :]), axis=-1).reshape(-1, 2))
            if len(first) > 1:
                ii, jj = np.triu_indices(len(first), 1)
                pairs.append(np.stack([first[ii], first[jj]], axis=1))
        else:
            ii, jj = np.triu_indices(size, 1)
            pairs.append(np.stack([members[ii], members[jj]], axis=1))
    if not pairs:
        return np.empty((0, 2), dtype=np.int64), np.empty(0, dtype=np.int64), capped
    allp, hits = np.unique(np.concatenate(pairs).astype(np.int64), axis=0, return_counts=True)
    return allp, hits.astype(np.int64), capped


def limit_partners(pairs: np.ndarray, hits: np.ndarray, k: int) -> np.ndarray:
    """Keep a pair when it is among the ``k`` best partners (most shared buckets, then earliest) of either
    end.

    Bounds the work at ``2 * k`` alignments per article even when every article shares a passage.
    """
    if len(pairs) == 0:
        return pairs
    a = np.concatenate([pairs[:, 0], pairs[:, 1]])
    b = np.concatenate([pairs[:, 1], pairs[:, 0]])
    h = np.concatenate([hits, hits])
    pid = np.concatenate([np.arange(len(pairs))] * 2)
    order = np.lexsort((b, -h, a))
    a_sorted = a[order]
    first = np.r_[0, np.flatnonzero(a_sorted[1:] != a_sorted[:-1]) + 1]
    rank = np.arange(len(order)) - np.repeat(first, np.diff(np.r_[first, len(order)]))
    keep = np.zeros(len(pairs), dtype=bool)
    keep[pid[order][rank < k]] = True
    return pairs[keep]
