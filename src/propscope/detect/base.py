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


class _MinConfidence:
    """A detector's output without the labels below a confidence."""

    def __init__(self, detector: Detector, min_confidence: float) -> None:
        self.detector = detector
        self.decision_threshold = min_confidence

    @property
    def name(self) -> str:
        return self.detector.name

    def detect(self, texts: Sequence[str]) -> list[list[SpanPrediction]]:
        cut = self.decision_threshold
        return [[p for p in ps if p.confidence >= cut] for ps in self.detector.detect(texts)]

    def classify(self, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]]
                 ) -> list[list[dict[str, float]]]:
        return self.detector.classify(texts, spans)


def with_min_confidence(detector: Detector, min_confidence: float | None) -> Detector:
    """``detector`` reporting the technique labels whose confidence reaches ``min_confidence`` (None: the
    detector as it is, i.e. from its model's decision threshold on). A model detector recomputes with the
    new cut, so a value below its decision threshold shows more labels; another detector's output is
    filtered."""
    if min_confidence is None:
        return detector
    if not 0.0 <= min_confidence <= 1.0:
        raise ValueError(f"--min-confidence {min_confidence}: must be between 0 and 1")
    own = getattr(detector, "with_min_confidence", None)
    return own(min_confidence) if callable(own) else _MinConfidence(detector, min_confidence)


MODELS_DIR = Path(__file__).resolve().parent.parent / "models"
"""The models shipped inside the package, one folder each: ``default`` and ``fast``."""

DEFAULT_MODEL_DIR = MODELS_DIR / "default"
"""Where the default model lives inside the package."""

MODEL_ENV = "PROPSCOPE_MODEL"
"""Environment variable naming a model (a shipped model's name or a folder) to use instead of the default."""


def bundled_models() -> list[str]:
    """Names of the models shipped in the package (``default``, ``fast``)."""
    return sorted(p.name for p in MODELS_DIR.iterdir() if (p / "config.json").is_file())


def resolve_model(model: str | os.PathLike[str] | None = None) -> Path:
    """The folder of ``model``: a folder path, or the name of a shipped model (``fast``) when no folder of
    that name exists here; None means $PROPSCOPE_MODEL, else the default model."""
    if model is None:
        model = os.environ.get(MODEL_ENV) or DEFAULT_MODEL_DIR
    path = Path(model)
    if not path.exists() and len(path.parts) == 1 and (MODELS_DIR / path.name / "config.json").is_file():
        return MODELS_DIR / path.name
    return path


@lru_cache(maxsize=4)
def _load(path: Path) -> Detector:
    if not (path / "config.json").is_file():
        raise ModelNotInstalledError(
            f"no propscope model is installed at {path} (config.json missing). "
            f"Pass --model with a model folder or a shipped model's name ({', '.join(bundled_models())}), "
            "train one with `propscope train`, or set PROPSCOPE_MODEL."
        )
    from .onnx import OnnxDetector  # onnxruntime is imported only when a model is loaded

    return OnnxDetector(path)


def load_detector(model_dir: str | os.PathLike[str] | None = None) -> Detector:
    """Load the detector in ``model_dir``: a model folder, or the name of a shipped model (``"fast"``:
    3 layers, about twice as fast, slightly less accurate). Default: $PROPSCOPE_MODEL, else the default
    model shipped in the package.

    Raises ModelNotInstalledError with a clear message when there is none.
    """
    return _load(resolve_model(model_dir).resolve())
