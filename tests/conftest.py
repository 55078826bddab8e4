"""Shared test helpers. FakeDetector is a test-only stand-in for the trained model; it is never shipped."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import pytest

from propscope.detect.base import SpanPrediction
from propscope.techniques import TECHNIQUES

REPO = Path(__file__).resolve().parents[1]
SAMPLE_PATH = REPO / "examples" / "idlib-truce.txt"
PTC_ROOT = Path(__file__).resolve().parents[2] / "shared" / "data" / "ptc"
"""The PTC corpus beside the clone (../shared/data/ptc); tests that need it skip when it is absent."""

_RULES: tuple[tuple[str, str, float], ...] = (
    (r"\bterrorist\w*", "Name_Calling,Labeling", 0.9),
    (r"\bwisen up\b", "Loaded_Language", 0.75),
    (r"terrorists use civilians as shields like they always do", "Appeal_to_fear-prejudice", 0.6),
)


class FakeDetector:
    """Deterministic detector for tests: marks fixed words and phrases (one rule overlaps another)."""

    def __init__(self) -> None:
        self.rules = [(re.compile(p, re.IGNORECASE), t, c) for p, t, c in _RULES]
        self.batches: list[int] = []

    @property
    def name(self) -> str:
        return "fake-test-detector 0"

    def detect(self, texts: Sequence[str]) -> list[list[SpanPrediction]]:
        self.batches.append(len(texts))
        return [sorted((SpanPrediction(m.start(), m.end(), t, c) for rx, t, c in self.rules
                        for m in rx.finditer(text)), key=lambda p: (p.start, p.end, p.technique))
                for text in texts]

    def classify(self, texts, spans):
        return [[{t: 1.0 / len(TECHNIQUES) for t in TECHNIQUES} for _ in s] for s in spans]


@pytest.fixture
def fake_detector(monkeypatch: pytest.MonkeyPatch) -> FakeDetector:
    """Make `propscope analyze` use a FakeDetector instead of loading a model."""
    det = FakeDetector()
    monkeypatch.setattr("propscope.cli.analyze.load_detector", lambda *a, **k: det)
    return det


@pytest.fixture
def ptc_root() -> Path:
    if not PTC_ROOT.is_dir():
        pytest.skip(f"PTC corpus not found at {PTC_ROOT}")
    return PTC_ROOT
