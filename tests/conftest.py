"""Shared test helpers. FakeDetector is a test-only stand-in for the trained model; it is never shipped."""

from __future__ import annotations

import importlib
import os
import re
from collections.abc import Sequence
from pathlib import Path

import pytest

from propscope.detect.base import SpanPrediction
from propscope.techniques import TECHNIQUES

REPO = Path(__file__).resolve().parents[1]
SAMPLE_PATH = REPO / "examples" / "idlib-truce.txt"
PTC_ROOT = Path(os.environ.get("PROPSCOPE_PTC_DATA") or REPO.parent / "shared" / "data" / "ptc")
"""The PTC corpus beside the clone (../shared/data/ptc), or where $PROPSCOPE_PTC_DATA points (for a checkout
that does not sit beside ../shared). Tests that need it use `require_ptc`: a skip, or under CI a failure."""
IN_CI = bool(os.environ.get("CI"))
"""CI sets CI=true: there, anything a test needs that is missing fails the run instead of skipping it."""


def require(ok: bool, reason: str) -> None:
    """Skip the calling test (or module, or fixture) with ``reason`` unless ``ok``; under CI, fail instead,
    so that a CI run that lost its data or dependencies cannot stay green."""
    if ok:
        return
    if IN_CI:
        pytest.fail(f"{reason} (CI is set: a missing requirement is a failure, not a skip)", pytrace=False)
    pytest.skip(reason, allow_module_level=True)


def require_ptc() -> Path:
    """The PTC corpus folder, or a skip (outside CI) / failure (under CI) naming where it was looked for."""
    require(PTC_ROOT.is_dir(), f"PTC corpus not found at {PTC_ROOT} (set PROPSCOPE_PTC_DATA to its folder)")
    return PTC_ROOT


def require_module(name: str):
    """``importlib.import_module(name)``, or a skip (outside CI) / failure (under CI) when it is missing."""
    try:
        return importlib.import_module(name)
    except ImportError as e:
        require(False, f"{name} is not installed ({e}); pip install -e '.[dev,train]'")

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
    return require_ptc()
