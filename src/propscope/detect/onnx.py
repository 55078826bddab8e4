"""The shipped detector: an int8 ONNX encoder run by onnxruntime, tokenizers, and numpy heads."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..errors import ModelNotInstalledError
from .base import SpanPrediction
from .core import DetectorConfig, DetectorCore, Heads
from .cpu import CpuInfo, cpu_info
from .lexical import LexicalModel
from .windows import special_ids

VARIANT_ENV = "PROPSCOPE_ENCODER_VARIANT"
"""Environment variable naming the encoder variant to load (``int8``, ...) instead of the automatic choice."""


def encoder_variants(meta: dict) -> dict[str, str]:
    """The encoder files of a model folder's config.json by variant name: ``encoder_variants`` when given,
    else the one ``encoder`` file, named ``int8`` when the model is quantized and ``fp32`` otherwise."""
    variants = meta.get("encoder_variants")
    if variants:
        return dict(variants)
    return {"int8" if meta.get("quantized") else "fp32": meta.get("encoder", "encoder.onnx")}


def choose_variant(variants: dict[str, str], cpu: CpuInfo, measure=None) -> str:
    """Which encoder variant to load on ``cpu``: $PROPSCOPE_ENCODER_VARIANT when set; the only one when
    there is one; ``int8`` when the CPU has VNNI or AMX (int8 dot products in hardware); otherwise the one
    that ``measure(name)`` (seconds for a fixed batch) finds fastest, or ``int8`` when nothing measures.

    >>> choose_variant({"int8": "a.onnx", "fp32": "b.onnx"}, CpuInfo("x", frozenset({"avx512_vnni"})))
    'int8'
    """
    wanted = os.environ.get(VARIANT_ENV)
    if wanted:
        if wanted not in variants:
            raise ModelNotInstalledError(
                f"{VARIANT_ENV}={wanted}: this model has the encoder variants {', '.join(sorted(variants))}")
        return wanted
    if len(variants) == 1:
        return next(iter(variants))
    if cpu.int8_fast and "int8" in variants:
        return "int8"
    if measure is None:
        return "int8" if "int8" in variants else sorted(variants)[0]
    return min(sorted(variants), key=measure)


def _time_session(session, tokens: int = 256, batch: int = 4, repeat: int = 3) -> float:
    """Best time of ``repeat`` encoder calls on a fixed batch (``batch`` windows of ``tokens`` tokens)."""
    import time

    ids = np.full((batch, tokens), 1000, dtype=np.int64)
    mask = np.ones((batch, tokens), dtype=np.int64)
    session.run(None, {"input_ids": ids, "attention_mask": mask})  # warm-up
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        session.run(None, {"input_ids": ids, "attention_mask": mask})
        best = min(best, time.perf_counter() - t)
    return best


class OnnxDetector:
    """Loads a model folder (config.json, encoder.onnx, heads.npz, tokenizer.json and, when present,
    lexical.npz) once; thread-safe. When the folder has several encoder variants (config.json
    ``encoder_variants``), the one that suits this CPU is loaded (``choose_variant``; ``.variant`` says
    which)."""

    def __init__(self, path: str | os.PathLike[str], threads: int | None = None) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.path = Path(path)
        try:
            meta = json.loads((self.path / "config.json").read_text(encoding="utf-8"))
            heads = dict(np.load(self.path / "heads.npz"))
            tok = Tokenizer.from_file(str(self.path / "tokenizer.json"))
            lex_path = self.path / "lexical.npz"
            lexical = LexicalModel.load(lex_path) if lex_path.exists() else None
        except (OSError, ValueError, KeyError, Exception) as e:  # noqa: B014 - any load failure is fatal
            raise ModelNotInstalledError(f"cannot load the propscope model in {self.path}: {e}") from e
        tok.no_truncation()
        tok.no_padding()
        self.meta = meta
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads or int(os.environ.get("PROPSCOPE_THREADS", "0")) or 0
        opts.inter_op_num_threads = 1
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # Idle worker threads sleep instead of spinning ($PROPSCOPE_SPIN=1 lets them spin): on a machine
        # shared with other work, spinning threads take cores from it and from our own numpy heads; 10 dev
        # articles ran at 2.8-3.3 articles/s against 2.0-2.2 with spinning, alternately on a loaded 2-core
        # machine (python benchmarks/compare_variants.py default ../shared/data/ptc/dev --spinning).
        opts.add_session_config_entry("session.intra_op.allow_spinning",
                                      "1" if os.environ.get("PROPSCOPE_SPIN") == "1" else "0")
        self.variants = encoder_variants(meta)
        sessions: dict = {}

        def session(name: str):
            if name not in sessions:
                sessions[name] = ort.InferenceSession(str(self.path / self.variants[name]), opts,
                                                      providers=["CPUExecutionProvider"])
            return sessions[name]

        self.variant = choose_variant(self.variants, cpu_info(), lambda name: _time_session(session(name)))
        self.session = session(self.variant)
        self.core = DetectorCore(tok, self._encode, Heads(heads), DetectorConfig.from_dict(meta["decode"]),
                                 special_ids(tok), lexical)

    @property
    def name(self) -> str:
        return f"{self.meta.get('name', 'propscope')}@{self.meta.get('version', '?')}"

    @property
    def decision_threshold(self) -> float:
        """The confidence from which this detector reports a technique label (decode ``min_confidence``)."""
        return float(self.core.config.min_confidence)

    def with_min_confidence(self, min_confidence: float) -> OnnxDetector:
        """A detector sharing this one's encoder that reports the labels from ``min_confidence`` on."""
        import copy
        import dataclasses

        det = copy.copy(self)
        det.core = copy.copy(self.core)
        det.core.config = dataclasses.replace(self.core.config, min_confidence=float(min_confidence))
        return det

    def _encode(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        return self.session.run(None, {"input_ids": ids, "attention_mask": mask})[0]

    def detect(self, texts: Sequence[str]) -> list[list[SpanPrediction]]:
        with _one_blas_thread:
            return self.core.detect(texts)

    def classify(self, texts: Sequence[str],
                 spans: Sequence[Sequence[tuple[int, int]]]) -> list[list[dict[str, float]]]:
        with _one_blas_thread:
            return self.core.classify(texts, spans)


class _OneBlasThread:
    """numpy's BLAS limited to one thread while any detector call runs (re-entrant and thread-safe: the
    first call in sets the limit, the last one out restores the user's setting).

    The heads' matrix products are small; with BLAS threads of their own they fight onnxruntime's threads for
    the same cores between encoder calls, which cost about 40% of the throughput on 2 cores."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._users = 0
        self._limiter = None

    def __enter__(self) -> None:
        with self._lock:
            if self._users == 0:
                from threadpoolctl import threadpool_limits

                self._limiter = threadpool_limits(limits=1, user_api="blas")
            self._users += 1

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self._users -= 1
            if self._users == 0 and self._limiter is not None:
                self._limiter.restore_original_limits()
                self._limiter = None


_one_blas_thread = _OneBlasThread()
