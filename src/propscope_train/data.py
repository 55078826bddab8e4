"""Turn PTC documents into encoder windows with BIO token labels and technique-labelled spans."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from propscope.detect.features import DocFeatures
from propscope.detect.windows import encode, make_windows
from propscope.ptc import PtcDocument
from propscope.scoring import merge_spans

O, B, I = 0, 1, 2  # noqa: E741


@dataclass
class SpanExample:
    a: int  # first token, in window coordinates ([CLS] is 0)
    b: int  # one past the last token
    target: np.ndarray  # (n_techniques,) probability mass over the gold techniques
    feats: np.ndarray
    ctx_lo: int
    ctx_hi: int


@dataclass
class WindowExample:
    ids: np.ndarray  # with [CLS] ... [SEP]
    labels: np.ndarray  # BIO per position, -100 for [CLS]/[SEP]
    spans: list[SpanExample]
    soft: np.ndarray | None = None  # (positions, 3) SI target distribution when distilling, else None


def token_labels(offsets: np.ndarray, spans: Sequence[tuple[int, int]]) -> np.ndarray:
    """BIO label per token for merged character spans (a token is inside when it overlaps the span)."""
    lab = np.zeros(len(offsets), dtype=np.int64)
    for s, e in merge_spans(spans):
        idx = np.nonzero((offsets[:, 0] < e) & (offsets[:, 1] > s))[0]
        if len(idx):
            lab[idx] = I
            lab[idx[0]] = B
    return lab


def build_examples(docs: Sequence[PtcDocument], tokenizer, techniques: Sequence[str], *, window: int,
                   stride: int, special_ids: tuple[int, int, int]) -> tuple[list[WindowExample], int]:
    """Window examples for every document; returns them and the number of gold spans that fit no window."""
    from propscope.detect.core import CONTEXT_RADIUS

    cls_id, sep_id, _ = special_ids
    tindex = {t: i for i, t in enumerate(techniques)}
    out: list[WindowExample] = []
    dropped = 0
    encs = encode(tokenizer, [d.text for d in docs])
    for d, (doc, enc) in enumerate(zip(docs, encs, strict=True)):
        n = len(enc)
        if n == 0:
            continue
        labels = token_labels(enc.offsets, doc.si or [(x.start, x.end) for x in doc.tc])
        groups: dict[tuple[int, int], list[str]] = defaultdict(list)
        for x in doc.tc:
            groups[(x.start, x.end)].append(x.technique)
        df = DocFeatures(doc.text)
        tok_spans = []
        for (s, e), techs in groups.items():
            idx = np.nonzero((enc.offsets[:, 0] < e) & (enc.offsets[:, 1] > s))[0]
            if not len(idx):
                dropped += 1
                continue
            target = np.zeros(len(techniques), dtype=np.float32)
            for t in techs:
                target[tindex[t]] += 1.0 / len(techs)
            tok_spans.append((int(idx[0]), int(idx[-1]) + 1, target, df.span(s, e)))
        placed = [False] * len(tok_spans)
        for w in make_windows(n, d, window, stride):
            ids = np.concatenate([[cls_id], enc.ids[w.start : w.end], [sep_id]]).astype(np.int64)
            lab = np.concatenate([[-100], labels[w.start : w.end], [-100]]).astype(np.int64)
            spans = []
            for k, (a, b, target, feats) in enumerate(tok_spans):
                if a >= w.start and b <= w.end:
                    placed[k] = True
                    mid = (a + b) // 2
                    lo = max(w.start, mid - CONTEXT_RADIUS) - w.start + 1
                    hi = min(w.end, mid + CONTEXT_RADIUS) - w.start + 1
                    spans.append(SpanExample(a - w.start + 1, b - w.start + 1, target, feats, lo, hi))
            out.append(WindowExample(ids, lab, spans))
        dropped += placed.count(False)
    return out, dropped
