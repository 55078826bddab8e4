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
from .lexical import LexicalModel


class OnnxDetector:
    """Loads a model folder (config.json, encoder.onnx, heads.npz, tokenizer.json and, when present,
    lexical.npz) once; thread-safe."""

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
        self.session = ort.InferenceSession(str(self.path / meta.get("encoder", "encoder.onnx")), opts,
                                            providers=["CPUExecutionProvider"])
        ids = tuple(tok.token_to_id(t) for t in ("[CLS]", "[SEP]", "[PAD]"))
        if None in ids:
            ids = tuple(tok.token_to_id(t) for t in ("<s>", "</s>", "<pad>"))
        self.core = DetectorCore(tok, self._encode, Heads(heads), DetectorConfig.from_dict(meta["decode"]),
                                 ids, lexical)  # type: ignore[arg-type]

    @property
    def name(self) -> str:
        return f"{self.meta.get('name', 'propscope')}@{self.meta.get('version', '?')}"

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
