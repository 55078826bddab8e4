"""Span confidence calibration: the Platt fit, the gold-overlap labels, the reliability table and its error,
the decision-threshold rule, and `--min-confidence` in analyze and predict."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from propscope.calibrate import (
    Labelled,
    choose_threshold,
    expected_calibration_error,
    fit_platt,
    overlaps_gold,
    reliability,
)
from propscope.cli import _register, app
from propscope.detect.base import with_min_confidence
from propscope.detect.core import calibrate
from propscope.ptc import PtcDocument

runner = CliRunner()


def test_platt_fit_recovers_the_map_that_generated_the_labels():
    rng = np.random.default_rng(0)
    raw = rng.uniform(0.02, 0.9, 20_000)
    right = rng.uniform(size=raw.size) < calibrate(raw, 0.6, -0.4)
    slope, intercept = fit_platt(raw, right)
    assert slope == pytest.approx(0.6, abs=0.05) and intercept == pytest.approx(-0.4, abs=0.05)


def test_platt_fit_of_already_calibrated_scores_is_about_the_identity():
    rng = np.random.default_rng(1)
    raw = rng.uniform(0.05, 0.95, 20_000)
    right = rng.uniform(size=raw.size) < raw
    slope, intercept = fit_platt(raw, right)
    assert slope == pytest.approx(1.0, abs=0.06) and intercept == pytest.approx(0.0, abs=0.06)


def test_platt_fit_stays_finite_on_degenerate_labels():
    # every raw score the same (the slope is not identified), and perfectly separable labels
    same = fit_platt(np.full(40, 0.2), np.arange(40) < 10)
    assert np.isfinite(same).all() and calibrate(0.2, *same) == pytest.approx(0.25, abs=0.01)
    sep = fit_platt(np.r_[np.full(20, 0.1), np.full(20, 0.6)], np.arange(40) >= 20)
    assert np.isfinite(sep).all() and calibrate(0.1, *sep) < 0.05 and calibrate(0.6, *sep) > 0.95


def test_a_label_is_right_when_a_gold_span_of_its_technique_overlaps_it():
    gold = [("1", "Doubt", 10, 20), ("1", "Slogans", 30, 40), ("2", "Doubt", 0, 5)]
    preds = [("1", 15, 25, "Doubt"),  # overlaps
             ("1", 20, 30, "Doubt"),  # touches the gold end and the other start: no overlap
             ("1", 35, 36, "Doubt"),  # overlaps a gold span of another technique only
             ("2", 4, 9, "Doubt"),  # same technique in article 2
             ("3", 0, 5, "Doubt")]  # article without gold spans
    assert overlaps_gold(preds, gold).tolist() == [True, False, False, True, False]


def test_reliability_table_and_calibration_error_by_hand():
    conf = np.array([0.15, 0.15, 0.15, 0.15, 0.45, 0.45])
    right = np.array([True, False, False, False, True, False])
    rows = reliability(conf, right)
    assert rows == [{"bin": "0.1-0.2", "n": 4, "confidence": 0.15, "right": 0.25},
                    {"bin": "0.4-0.5", "n": 2, "confidence": 0.45, "right": 0.5}]
    # 4/6 * |0.15 - 0.25| + 2/6 * |0.45 - 0.5| = 0.0667 + 0.0167
    assert expected_calibration_error(conf, right) == pytest.approx(0.1 * 4 / 6 + 0.05 * 2 / 6)
    assert reliability(np.array([1.0]), np.array([True]))[0]["bin"] == "0.9-1.0"  # 1.0 in the last bin


def test_the_decision_threshold_is_the_highest_cut_that_keeps_the_si_f1():
    # one article, gold span 0-10; a right span with confidence 0.3 and a wrong one with 0.12
    doc = PtcDocument("1", "x" * 100, [(0, 10)], [])
    lab = Labelled([("1", 0, 10, "Doubt"), ("1", 50, 60, "Doubt")], np.array([0.3, 0.12]),
                   np.array([True, False]))
    conf = lab.raw
    cut, f1 = choose_threshold(lab, conf, [doc])
    assert f1[0.0] == 0.6667  # P 0.5, R 1 (rounded to 4 places)
    assert f1[0.15] == pytest.approx(1.0) and f1[0.35] == 0.0
    assert cut == 0.3  # the highest cut at which the F1 is still at least that of keeping both


class _Scored:
    """A detector whose every label carries a given confidence, and no model threshold of its own."""

    name = "scored 0"

    def __init__(self) -> None:
        from propscope.detect.base import SpanPrediction

        self.preds = [SpanPrediction(0, 3, "Doubt", 0.05), SpanPrediction(4, 8, "Slogans", 0.4)]

    def detect(self, texts):
        return [list(self.preds) for _ in texts]

    def classify(self, texts, spans):
        return [[{} for _ in s] for s in spans]


def test_with_min_confidence_filters_a_detector_without_a_model():
    det = _Scored()
    assert with_min_confidence(det, None) is det
    cut = with_min_confidence(det, 0.4)
    assert [p.technique for p in cut.detect(["abc defgh"])[0]] == ["Slogans"]  # 0.4 itself is kept
    assert cut.decision_threshold == 0.4 and cut.name == det.name
    with pytest.raises(ValueError, match="between 0 and 1"):
        with_min_confidence(det, 1.5)


def test_analyze_min_confidence_leaves_out_labels_below_it(fake_detector, tmp_path):
    _register()
    src = tmp_path / "a.txt"
    src.write_text("The terrorists must wisen up, said the mayor.\n")
    full = json.loads(runner.invoke(app, ["analyze", str(src), "--format", "json"]).stdout)
    r = runner.invoke(app, ["analyze", str(src), "--format", "json", "--min-confidence", "0.8"])
    assert r.exit_code == 0, r.output
    cut = json.loads(r.stdout)
    assert sorted(s["confidence"] for s in full["spans"]) == [0.75, 0.9]
    assert [s["confidence"] for s in cut["spans"]] == [0.9]
    bad = runner.invoke(app, ["analyze", str(src), "--min-confidence", "2"])
    assert bad.exit_code == 2


@pytest.fixture(scope="module")
def default_model():
    from propscope.detect.base import load_detector

    return load_detector("default")


def test_the_model_reports_from_its_decision_threshold_and_a_lower_cut_adds_the_rest(default_model):
    from pathlib import Path

    text = Path(__file__).resolve().parent.parent.joinpath("examples", "idlib-truce.txt").read_text()
    det = default_model
    assert det.decision_threshold == det.core.config.min_confidence > 0
    shown = det.detect([text])[0]
    everything = with_min_confidence(det, 0.0).detect([text])[0]
    assert shown and all(p.confidence >= det.decision_threshold for p in shown)
    assert set(shown) <= set(everything)
    assert set(everything) - set(shown) == {p for p in everything if p.confidence < det.decision_threshold}
    assert det.detect([text])[0] == shown  # the shared detector is unchanged
