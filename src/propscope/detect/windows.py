"""Tokenise whole articles and cut them into overlapping windows for the encoder, then stitch the
per-window outputs back into one row per token.

Each token's output is taken from the window where it sits farthest from an edge, so every token gets
context on both sides and no span is cut at a window boundary: spans are decoded on the stitched,
article-long sequence.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass
class Encoded:
    """One article's tokens: ids and character offsets ``(start, end)`` into its text."""

    ids: np.ndarray  # (n,) int64
    offsets: np.ndarray  # (n, 2) int64

    def __len__(self) -> int:
        return len(self.ids)


def encode(tokenizer, texts: Sequence[str]) -> list[Encoded]:
    """Tokenise texts without special tokens or truncation (``tokenizer`` is a ``tokenizers.Tokenizer``)."""
    out = []
    for enc in tokenizer.encode_batch(list(texts), add_special_tokens=False):
        ids = np.asarray(enc.ids, dtype=np.int64)
        offs = np.asarray(enc.offsets, dtype=np.int64).reshape(-1, 2)
        out.append(Encoded(ids, offs))
    return out


def special_ids(tokenizer) -> tuple[int, int, int]:
    """(CLS, SEP, PAD) ids: the first two from the tokenizer's post-processor ([CLS]/[SEP] for BERT, <s>/</s>
    for MPNet, whose vocabulary also lists an unused [CLS]), PAD from <pad> or [PAD]."""
    pair = tokenizer.encode("", add_special_tokens=True).ids[:2]
    if len(pair) != 2:
        raise ValueError("the tokenizer adds no start and end tokens")
    for name in ("<pad>", "[PAD]"):
        i = tokenizer.token_to_id(name)
        if i is not None:
            return pair[0], pair[1], i
    raise ValueError("the tokenizer has no <pad> or [PAD] token")


@dataclass(frozen=True)
class Window:
    """Tokens ``[start, end)`` of one article, and the part ``[keep_start, keep_end)`` whose outputs
    this window supplies when stitching."""

    doc: int
    start: int
    end: int
    keep_start: int
    keep_end: int


def make_windows(n_tokens: int, doc: int, size: int, stride: int) -> list[Window]:
    """Windows of at most ``size`` content tokens, starting every ``stride`` tokens, covering all tokens.

    The kept part of each window is the middle of its overlap with neighbours, so each token is kept
    exactly once, by the window in which it is most central.
    """
    if size <= 0 or stride <= 0 or stride > size:
        raise ValueError(f"need 0 < stride <= size, got size={size}, stride={stride}")
    if n_tokens <= size:
        return [Window(doc, 0, n_tokens, 0, n_tokens)]
    starts = list(range(0, n_tokens - size, stride)) + [n_tokens - size]
    wins = []
    for i, s in enumerate(starts):
        e = s + size
        # kept part: from the middle of the overlap with the previous window to the middle of the next
        ks = 0 if i == 0 else (s + starts[i - 1] + size) // 2
        ke = n_tokens
        if i + 1 < len(starts):
            ke = (starts[i + 1] + e) // 2
        wins.append(Window(doc, s, e, ks, ke))
    return wins


def batch_windows(
    docs: Sequence[Encoded], windows: Sequence[Window], cls_id: int, sep_id: int, pad_id: int
) -> tuple[np.ndarray, np.ndarray]:
    """Input ids and attention mask for ``windows`` with [CLS] ... [SEP], padded to the longest."""
    width = max(w.end - w.start for w in windows) + 2
    ids = np.full((len(windows), width), pad_id, dtype=np.int64)
    mask = np.zeros((len(windows), width), dtype=np.int64)
    for i, w in enumerate(windows):
        n = w.end - w.start
        ids[i, 0] = cls_id
        ids[i, 1 : n + 1] = docs[w.doc].ids[w.start : w.end]
        ids[i, n + 1] = sep_id
        mask[i, : n + 2] = 1
    return ids, mask


def stitch_into(target: np.ndarray, window: Window, outputs: np.ndarray) -> None:
    """Copy the kept rows of one window's outputs (rows include [CLS] at 0) into ``target`` (per token)."""
    a, b = window.keep_start, window.keep_end
    target[a:b] = outputs[1 + a - window.start : 1 + b - window.start]
