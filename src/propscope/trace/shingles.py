"""Candidate pairs: word shingles, MinHash signatures of overlapping text windows (datasketch), LSH banding.

An article's words are cut into word ``n``-grams (shingles); every window of ``window`` shingles (windows
overlap by half) gets a MinHash signature with datasketch's permutations, computed for all shingles of an
article at once (the same values as ``datasketch.MinHash.update_batch``, see ``minhash_reference``).
Signatures are cut into ``bands`` bands of ``rows`` values; two articles whose windows agree on a whole band
fall in the same bucket and become a candidate pair. Windows, not whole articles, so that a passage copied into
a longer article is found too. Buckets holding more than ``cap`` articles (boilerplate, a speech quoted
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
_SHINGLE_MULT = np.array([0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0x27D4EB2F165667C5,
                          0x94D049BB133111EB, 0xBF58476D1CE4E5B9, 0xD6E8FEB86659FD93, 0xFF51AFD7ED558CCD],
                         dtype=np.uint64)
_BAND_MULT_SEED = 20181


@dataclass(frozen=True)
class LshParams:
    """Shingling and LSH settings. The defaults are those measured in docs/trace.md."""

    shingle: int = 3
    window: int = 60
    num_perm: int = 64
    bands: int = 16
    seed: int = 1
    cap: int = 50
    fallback: int = 2

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
        acc += wh[k:k + m] * _SHINGLE_MULT[k]
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


def window_signatures(sh: np.ndarray, params: LshParams) -> np.ndarray:
    """MinHash signatures (windows x num_perm, uint32) of windows of ``params.window`` shingles.

    Windows start every ``window // 2`` shingles; an article shorter than one window gets one signature.
    """
    a, b = permutations(params.num_perm, params.seed)
    n = len(sh)
    if n == 0:
        return np.empty((0, params.num_perm), dtype=np.uint32)
    half = max(1, params.window // 2)
    n_half = (n + half - 1) // half
    halves = np.empty((n_half, params.num_perm), dtype=np.uint32)
    step = half * max(1, _BLOCK // half)  # blocks of whole half-windows keep memory bounded on long texts
    for lo in range(0, n, step):
        block = sh[lo:lo + step]
        phv = _fmix32(block).reshape(-1, 1) * a + b  # uint32 arithmetic wraps mod 2^32, as in datasketch
        starts = np.arange(0, len(block), half)
        halves[lo // half: lo // half + len(starts)] = np.minimum.reduceat(phv, starts, axis=0)
    if n_half == 1:
        return halves
    return np.minimum(halves[:-1], halves[1:])


@lru_cache(maxsize=8)
def _band_mult(params: LshParams) -> np.ndarray:
    rng = np.random.default_rng(_BAND_MULT_SEED)
    return (rng.integers(1, 2**63, size=(params.bands, params.rows), dtype=np.uint64) | np.uint64(1))


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
    every member is paired with the earliest ones. Returns the distinct pairs and the number of capped buckets.
    """
    if len(keys) == 0:
        return np.empty((0, 2), dtype=np.int64), 0
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
        members = ix[s:s + size]
        if size > params.cap:
            capped += 1
            first = members[:params.fallback]
            rest = members[params.fallback:]
            pairs.append(np.stack(np.broadcast_arrays(first[:, None], rest[None, :]), axis=-1).reshape(-1, 2))
            if len(first) > 1:
                ii, jj = np.triu_indices(len(first), 1)
                pairs.append(np.stack([first[ii], first[jj]], axis=1))
        else:
            ii, jj = np.triu_indices(size, 1)
            pairs.append(np.stack([members[ii], members[jj]], axis=1))
    if not pairs:
        return np.empty((0, 2), dtype=np.int64), capped
    allp = np.concatenate(pairs).astype(np.int64)
    return np.unique(allp, axis=0), capped
