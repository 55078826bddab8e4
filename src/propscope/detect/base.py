"""The detector interface that analysis plugs into.

A detector turns article texts into technique spans (span identification + technique classification) and
classifies given spans (the SemEval TC task). A detector loads its model once when constructed;
``load_detector`` caches them, so reuse is free.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Protocol, runtime_checkable

from ..errors import ModelNotInstalledError


@dataclass(frozen=True)
class SpanPrediction:
    """A predicted span: character offsets into the text, the technique and a confidence in [0, 1]."""

    start: int
    end: int
    technique: str
    confidence: float


@runtime_checkable
class Detector(Protocol):
    """What analysis needs from a detector."""

    @property
    def name(self) -> str:
        """Name and version of the model, reported in every Analysis."""
        ...

    def detect(self, texts: Sequence[str]) -> list[list[SpanPrediction]]:
        """Find technique spans in each text (SI + TC). One list per text, sorted by start."""
        ...

    def classify(
        self, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]]
    ) -> list[list[dict[str, float]]]:
        """For each text and each given (start, end) span, a probability per technique (SemEval TC)."""
        ...


DEFAULT_MODEL_DIR = Path(__file__).resolve().parent.parent / "models" / "default"
"""Where the shipped model lives inside the package."""

MODEL_ENV = "PROPSCOPE_MODEL"
"""Environment variable naming a model folder to use instead of the shipped one."""


def default_model_dir() -> Path:
    env = os.environ.get(MODEL_ENV)
    return Path(env) if env else DEFAULT_MODEL_DIR


@lru_cache(maxsize=4)
def _load(path: Path) -> Detector:
    if not (path / "config.json").is_file():
        raise ModelNotInstalledError(
            f"no propscope model is installed at {path} (config.json missing). "
            "Train one with `propscope train` and pass --model DIR, or set PROPSCOPE_MODEL."
        )
    from .onnx import OnnxDetector  # onnxruntime is imported only when a model is loaded

    return OnnxDetector(path)


def load_detector(model_dir: str | os.PathLike[str] | None = None) -> Detector:
    """Load the detector in ``model_dir`` (default: $PROPSCOPE_MODEL, else the model shipped in the package).

    Raises ModelNotInstalledError with a clear message when there is none.
    """
    path = Path(model_dir) if model_dir is not None else default_model_dir()
    return _load(path.resolve())
