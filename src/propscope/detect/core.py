"""The detector's logic around the encoder: windows -> encoder -> stitched token states -> span
identification (BIO tagging) -> technique classification of each span (a small MLP over pooled token
states, article context and document features).

The encoder is any callable ``(input_ids, attention_mask) -> hidden states`` (numpy), so the same code
serves the ONNX runtime and, during training, the PyTorch model. The heads are plain numpy arrays.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

from ..techniques import TECHNIQUES
from .base import SpanPrediction
from .features import DocFeatures
from .lexical import LexicalModel
from .windows import Encoded, Window, batch_windows, encode, make_windows, stitch_into

EncodeFn = Callable[[np.ndarray, np.ndarray], np.ndarray]
CONTEXT_RADIUS = 128  # tokens on each side of a span's middle pooled as its context


@dataclass
class DetectorConfig:
    """Settings saved in a model folder's config.json (``decode``); thresholds are tuned on train/dev."""

    window: int = 254  # content tokens per window ([CLS] and [SEP] make 256)
    stride: int = 192
    batch_size: int = 4  # windows per encoder call (4: fastest and 40% less memory than 16; batch_size.py)
    si_threshold: float = 0.5  # P(inside a span) a token needs
    max_gap: int = 0  # runs of tokens separated by at most this many tokens below threshold are joined
    min_tokens: int = 1  # shorter spans (in tokens) are dropped
    min_chars: int = 3  # shorter spans are dropped
    tc_temperature: float = 1.0  # softmax temperature for technique confidences
    second_label: float = 0.45  # report a second technique for a span when its probability reaches this
    lexical_weight: float = 0.0  # share of the lexical classifier in the technique probabilities
    # added to the Repetition log-probability when the span's words occur earlier in the article / only
    # later / nowhere else (PTC labels Repetition on the later occurrences of a phrase)
    repetition_earlier: float = 0.0
    repetition_later: float = 0.0
    repetition_single: float = 0.0
    # the confidence of a technique label: sigmoid(confidence_slope * logit(P(span) x P(technique)) +
    # confidence_intercept), fitted on the held-out train fold (``propscope calibrate``; 1 and 0 leave the
    # product as it is); labels below min_confidence (the decision threshold on that scale) are not reported
    confidence_slope: float = 1.0
    confidence_intercept: float = 0.0
    min_confidence: float = 0.0
    techniques: list[str] = field(default_factory=lambda: list(TECHNIQUES))

    @classmethod
    def from_dict(cls, d: dict) -> DetectorConfig:
        known = {k: v for k, v in d.items() if k in cls.__dataclass_fields__}
        return cls(**known)

    def to_dict(self) -> dict:
        return asdict(self)

    def with_settings(self, pairs: Sequence[str]) -> DetectorConfig:
        """A copy with ``name=value`` settings changed, each value read as its field's type (for ablations:
        ``propscope evaluate --set lexical_weight=0``). Raises ValueError naming a bad pair."""
        d = self.to_dict()
        for pair in pairs:
            name, sep, value = pair.partition("=")
            name = name.strip()
            if not sep or name not in d or name == "techniques":
                settable = ", ".join(k for k in d if k != "techniques")
                raise ValueError(f"--set {pair!r}: expected NAME=VALUE with NAME one of {settable}")
            kind = type(d[name])
            try:
                d[name] = kind(float(value)) if kind is int and float(value).is_integer() else kind(value)
            except ValueError:
                raise ValueError(f"--set {pair!r}: {value!r} is not a valid {kind.__name__}") from None
        return DetectorConfig.from_dict(d)


def _softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    x = x - x.max(axis=axis, keepdims=True)
    e = np.exp(x)
    return e / e.sum(axis=axis, keepdims=True)


def _gelu(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1.0 + np.tanh(0.7978845608 * (x + 0.044715 * x**3)))


class Heads:
    """The numpy heads: ``si`` (token BIO logits) and ``tc`` (a two-layer MLP over span vectors)."""

    def __init__(self, arrays: dict[str, np.ndarray]) -> None:
        self.a = {k: np.asarray(v, dtype=np.float32) for k, v in arrays.items()}

    def si_logits(self, h: np.ndarray) -> np.ndarray:
        return h @ self.a["si_w"] + self.a["si_b"]

    @property
    def n_features(self) -> int:
        """How many document features the technique head takes (older models take fewer)."""
        return int(self.a["tc_w1"].shape[0] - 4 * self.a["si_w"].shape[0])

    def tc_logits(self, x: np.ndarray) -> np.ndarray:
        z = _gelu(x @ self.a["tc_w1"] + self.a["tc_b1"])
        return z @ self.a["tc_w2"] + self.a["tc_b2"]


def token_range(offsets: np.ndarray, start: int, end: int) -> tuple[int, int]:
    """Tokens ``[a, b)`` overlapping characters ``[start, end)``; the nearest token when none overlaps."""
    n = len(offsets)
    if n == 0:
        return 0, 0
    a = int(np.searchsorted(offsets[:, 1], start, side="right"))
    b = int(np.searchsorted(offsets[:, 0], end, side="left"))
    if b <= a:
        a = min(a, n - 1)
        b = a + 1
    return a, b


def span_vector(h: np.ndarray, a: int, b: int, feats: np.ndarray) -> np.ndarray:
    """[mean of span tokens, first token, last token, context mean, document features]."""
    mid = (a + b) // 2
    lo, hi = max(0, mid - CONTEXT_RADIUS), min(len(h), mid + CONTEXT_RADIUS)
    return np.concatenate([h[a:b].mean(0), h[a], h[b - 1], h[lo:hi].mean(0), feats])


def inside_mask(probs: np.ndarray, threshold: float) -> np.ndarray:
    """Tokens whose P(B) + P(I) reaches ``threshold`` (``probs`` is (n, 3): O, B, I)."""
    return probs[:, 1] + probs[:, 2] >= threshold


def join_gaps(on: np.ndarray, max_gap: int) -> np.ndarray:
    """A copy of ``on`` where runs separated by at most ``max_gap`` off tokens are joined."""
    on = on.copy()
    if max_gap:
        idx = np.nonzero(on)[0]
        for a, b in zip(idx[:-1], idx[1:], strict=True):
            if 1 < b - a <= max_gap + 1:
                on[a:b] = True
    return on


def word_continuations(offsets: np.ndarray, text: str) -> np.ndarray:
    """For each token, whether it continues the previous token's word (it starts where that one ends and
    both sides of the join are word characters)."""
    n = len(offsets)
    cont = np.zeros(n, dtype=bool)
    for i in range(1, n):
        s, pe = offsets[i, 0], offsets[i - 1, 1]
        if s == pe and s > 0 and text[s - 1 : s].isalnum() and text[s : s + 1].isalnum():
            cont[i] = True
    return cont


def starts_span(probs: np.ndarray, cont: np.ndarray) -> np.ndarray:
    """Tokens that begin a new span inside a run: P(B) beats both P(I) and 0.5, at a word start."""
    return (probs[:, 1] > np.maximum(probs[:, 2], 0.5)) & ~cont


def token_runs(on: np.ndarray, begins: np.ndarray, cont: np.ndarray) -> list[tuple[int, int]]:
    """Token ranges ``[a, b)``: maximal runs of ``on`` tokens, split before each ``begins`` token, each
    widened to whole words (``cont`` marks word continuations)."""
    n = len(on)
    spans: list[tuple[int, int]] = []
    i = 0
    while i < n:
        if not on[i]:
            i += 1
            continue
        j = i + 1
        while j < n and on[j] and not begins[j]:
            j += 1
        a, b = i, j
        while a > 0 and cont[a]:
            a -= 1
        while b < n and cont[b]:
            b += 1
        spans.append((a, b))
        i = max(j, b)
    return spans


def decode_si(
    offsets: np.ndarray, probs: np.ndarray, text: str, threshold: float, min_chars: int,
    max_gap: int = 0, min_tokens: int = 1,
) -> list[tuple[int, int, float]]:
    """Turn token BIO probabilities into character spans ``(start, end, P(inside))``, P(inside) being the
    mean P(B)+P(I) of the span's tokens.

    Tokens with P(B)+P(I) >= threshold form runs; runs separated by at most ``max_gap`` tokens are joined
    (the tagger often dips below threshold inside a long span); a token whose B beats I and 0.5 starts a
    new span; runs are widened to whole words so no word is cut; spans under ``min_tokens`` tokens or
    ``min_chars`` characters (or blank) are dropped.
    """
    if len(offsets) == 0:
        return []
    p_in = probs[:, 1] + probs[:, 2]
    cont = word_continuations(offsets, text)
    runs = token_runs(join_gaps(inside_mask(probs, threshold), max_gap), starts_span(probs, cont), cont)
    out = []
    for a, b in runs:
        if b - a < min_tokens:
            continue
        s, e = int(offsets[a, 0]), int(offsets[b - 1, 1])
        if e - s >= min_chars and text[s:e].strip():
            out.append((s, e, float(p_in[a:b].mean())))
    return out


def raw_confidence(p_inside: float, p_technique: float) -> float:
    """The uncalibrated score of a span's technique: the span's mean P(inside) x P(technique | span)."""
    return float(p_inside * p_technique)


def calibrate(raw: float | np.ndarray, slope: float = 1.0, intercept: float = 0.0) -> float | np.ndarray:
    """Platt scaling of raw scores: ``sigmoid(slope * logit(raw) + intercept)`` (raw clipped to
    [1e-6, 1 - 1e-6]); slope 1 and intercept 0 give ``raw`` back."""
    r = np.clip(np.asarray(raw, dtype=np.float64), 1e-6, 1 - 1e-6)
    out = 1.0 / (1.0 + np.exp(-(slope * np.log(r / (1 - r)) + intercept)))
    return float(out) if np.ndim(out) == 0 else out


def span_confidence(p_inside: float, p_technique: float, slope: float = 1.0, intercept: float = 0.0
                    ) -> float:
    """The confidence reported for a span's technique: the estimated probability that a gold span carrying
    this technique overlaps the span, i.e. ``raw_confidence`` calibrated with the model's Platt map."""
    return float(calibrate(raw_confidence(p_inside, p_technique), slope, intercept))


def span_labels(p: np.ndarray, techniques: Sequence[str], p_inside: float, second_label: float,
                slope: float = 1.0, intercept: float = 0.0, min_confidence: float = 0.0
                ) -> list[tuple[str, float]]:
    """``(technique, confidence)`` for a span with technique probabilities ``p``: the most likely
    technique, and the second when its probability reaches ``second_label``; labels whose confidence is
    below ``min_confidence`` are left out."""
    order = np.argsort(-p, kind="stable")
    out = []
    for rank, k in enumerate(order[:2]):
        if rank == 1 and p[k] < second_label:
            break
        c = span_confidence(p_inside, float(p[k]), slope, intercept)
        if c >= min_confidence:
            out.append((techniques[int(k)], c))
    return out


class DetectorCore:
    """Everything but the encoder: windowing, batching, stitching, decoding, classifying."""

    def __init__(self, tokenizer, encode_fn: EncodeFn, heads: Heads, config: DetectorConfig,
                 special_ids: tuple[int, int, int], lexical: LexicalModel | None = None) -> None:
        self.tokenizer = tokenizer
        self.encode_fn = encode_fn
        self.heads = heads
        self.config = config
        self.cls_id, self.sep_id, self.pad_id = special_ids
        self.techniques = list(config.techniques)
        self.lexical = lexical.reorder(self.techniques) if lexical is not None else None

    # -- encoder over whole articles ---------------------------------------------------------------
    def hidden_states(self, texts: Sequence[str]) -> list[tuple[Encoded, np.ndarray]]:
        """Stitched last-layer token states for each text.

        An article's windows are batched together (up to ``batch_size`` at a time), never with other
        articles' windows: int8 dynamic quantization scales activations per batch, so mixing articles would
        make one article's result depend on the others. Within an article all windows but a short single
        one have the same length, so nothing is padded; timing showed no loss against sorted cross-article
        batches.
        """
        cfg = self.config
        docs = encode(self.tokenizer, texts)
        dim = int(self.heads.a["si_w"].shape[0])
        out: list[tuple[Encoded, np.ndarray]] = []
        for d, enc in enumerate(docs):
            state = np.zeros((len(enc), dim), dtype=np.float32)
            windows: list[Window] = make_windows(len(enc), d, cfg.window, cfg.stride) if len(enc) else []
            for k in range(0, len(windows), cfg.batch_size):
                chunk = windows[k : k + cfg.batch_size]
                ids, mask = batch_windows(docs, chunk, self.cls_id, self.sep_id, self.pad_id)
                for w, o in zip(chunk, self.encode_fn(ids, mask), strict=True):
                    stitch_into(state, w, o)
            out.append((enc, state))
        return out

    # -- technique classification -----------------------------------------------------------------
    def span_parts(self, text: str, enc: Encoded, h: np.ndarray, spans: Sequence[tuple[int, int]]
                   ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
        """The inputs of the final technique probabilities for character spans of one article: the encoder
        head's logits (k, 14), the lexical classifier's probabilities (k, 14) or None, and the repetition
        flags (k, 2): the span's words occur earlier / later in the article."""
        n, m = len(spans), len(self.techniques)
        df = DocFeatures(text)
        reps = np.array([df.repeats(s, e) for s, e in spans], dtype=bool).reshape(n, 2)
        if len(enc) == 0:
            logits = np.zeros((n, m), dtype=np.float32)
        else:
            rows, nf = [], self.heads.n_features
            for s, e in spans:
                a, b = token_range(enc.offsets, s, e)
                rows.append(span_vector(h, a, b, df.span(s, e)[:nf]))
            logits = self.heads.tc_logits(np.stack(rows)) if rows else np.zeros((0, m), np.float32)
        lex = self.lexical.predict_proba([text[s:e] for s, e in spans]) if self.lexical is not None else None
        return logits, lex, reps

    def combine(self, logits: np.ndarray, lex: np.ndarray | None, reps: np.ndarray) -> np.ndarray:
        """Final technique probabilities: tempered encoder softmax, mixed with the lexical classifier,
        then the Repetition prior from where else in the article the span's words occur."""
        cfg = self.config
        p = _softmax(logits / cfg.tc_temperature) if len(logits) else logits
        if lex is not None and cfg.lexical_weight:
            p = (1 - cfg.lexical_weight) * p + cfg.lexical_weight * lex
        if len(p) and "Repetition" in self.techniques and (
                cfg.repetition_earlier or cfg.repetition_later or cfg.repetition_single):
            bias = np.where(reps[:, 0], cfg.repetition_earlier,
                            np.where(reps[:, 1], cfg.repetition_later, cfg.repetition_single))
            z = np.log(np.clip(p, 1e-9, 1.0))
            z[:, self.techniques.index("Repetition")] += bias
            p = _softmax(z)
        return p.astype(np.float32)

    def span_probs(self, text: str, enc: Encoded, h: np.ndarray,
                   spans: Sequence[tuple[int, int]]) -> np.ndarray:
        """Technique probabilities (k, 14) for character spans of one article."""
        if not spans:
            return np.zeros((0, len(self.techniques)), dtype=np.float32)
        return self.combine(*self.span_parts(text, enc, h, spans))

    def classify(self, texts: Sequence[str],
                 spans: Sequence[Sequence[tuple[int, int]]]) -> list[list[dict[str, float]]]:
        out = []
        for text, (enc, h), sp in zip(texts, self.hidden_states(texts), spans, strict=True):
            probs = self.span_probs(text, enc, h, list(sp))
            out.append([dict(zip(self.techniques, map(float, p), strict=True)) for p in probs])
        return out

    # -- full detection ---------------------------------------------------------------------------
    def identify(self, text: str, enc: Encoded, h: np.ndarray) -> list[tuple[int, int, float]]:
        if len(enc) == 0:
            return []
        probs = _softmax(self.heads.si_logits(h))
        cfg = self.config
        return decode_si(enc.offsets, probs, text, cfg.si_threshold, cfg.min_chars, cfg.max_gap,
                         cfg.min_tokens)

    def detect(self, texts: Sequence[str]) -> list[list[SpanPrediction]]:
        """Spans with their technique(s) in each text. Very long texts are processed in segments of at most
        ``MAX_SEGMENT_CHARS`` cut at line ends, so memory stays bounded whatever the input size."""
        results = []
        for text in texts:
            preds: list[SpanPrediction] = []
            for off, seg in split_segments(text):
                preds.extend(SpanPrediction(p.start + off, p.end + off, p.technique, p.confidence)
                             for p in self._detect_one(seg))
            preds.sort(key=lambda x: (x.start, x.end, x.technique))
            results.append(preds)
        return results

    def _detect_one(self, text: str) -> list[SpanPrediction]:
        (enc, h), = self.hidden_states([text])
        found = self.identify(text, enc, h)
        probs = self.span_probs(text, enc, h, [(s, e) for s, e, _ in found])
        cfg = self.config
        return [SpanPrediction(s, e, t, c) for (s, e, p_inside), p in zip(found, probs, strict=True)
                for t, c in span_labels(p, self.techniques, p_inside, cfg.second_label, cfg.confidence_slope,
                                        cfg.confidence_intercept, cfg.min_confidence)]


MAX_SEGMENT_CHARS = 50_000


def split_segments(text: str, limit: int = MAX_SEGMENT_CHARS) -> list[tuple[int, str]]:
    """``(offset, segment)`` pieces of at most ``limit`` characters, cut after a newline where possible."""
    out, start, n = [], 0, len(text)
    while n - start > limit:
        cut = text.rfind("\n", start + limit // 2, start + limit)
        cut = cut + 1 if cut >= 0 else start + limit
        out.append((start, text[start:cut]))
        start = cut
    out.append((start, text[start:]))
    return out
