"""Span decoding on hand-made token probabilities: threshold, gap joining, B-tag splitting, word widening,
minimum length, the span confidence and the second technique."""

from __future__ import annotations

import numpy as np
import pytest

from propscope.detect.base import SpanPrediction
from propscope.detect.core import (
    DetectorConfig,
    DetectorCore,
    calibrate,
    decode_si,
    join_gaps,
    raw_confidence,
    span_confidence,
    span_labels,
)
from propscope.techniques import TECHNIQUES

# Twelve two-letter words, one token each: token i covers characters [3i, 3i + 2).
TEXT = "aa bb cc dd ee ff gg hh ii jj kk ll"
OFFSETS = np.array([(3 * i, 3 * i + 2) for i in range(12)])


def probs(inside: dict[int, float], begin: dict[int, float] | None = None, n: int = 12) -> np.ndarray:
    """(n, 3) O/B/I probabilities: token k has P(I) = inside[k] (P(B) = begin[k] if given), the rest O."""
    p = np.zeros((n, 3))
    p[:, 0] = 1.0
    for k, v in inside.items():
        p[k] = [1 - v, 0.0, v]
    for k, v in (begin or {}).items():
        p[k, 1] = v
        p[k, 0] = max(0.0, 1 - v - p[k, 2])
    return p


def spans(p: np.ndarray, threshold: float = 0.5, min_chars: int = 1, max_gap: int = 0, min_tokens: int = 1,
          text: str = TEXT, offsets: np.ndarray = OFFSETS) -> list[tuple[int, int]]:
    return [(s, e) for s, e, _ in decode_si(offsets, p, text, threshold, min_chars, max_gap, min_tokens)]


def chars(a: int, b: int) -> tuple[int, int]:
    """Character span of tokens [a, b)."""
    return int(OFFSETS[a, 0]), int(OFFSETS[b - 1, 1])


def test_threshold_is_inclusive_and_counts_b_plus_i():
    p = probs({2: 0.5, 3: 0.49, 5: 0.3}, begin={5: 0.2})  # token 5: P(B) + P(I) = 0.5
    assert spans(p) == [chars(2, 3), chars(5, 6)]
    assert spans(p, threshold=0.51) == []


@pytest.mark.parametrize("gap, max_gap, joined", [
    (1, 0, False), (1, 1, True), (2, 1, False), (2, 2, True), (3, 2, False), (3, 3, True), (8, 8, True),
    (9, 8, False),
])
def test_runs_at_most_max_gap_tokens_apart_are_joined(gap, max_gap, joined):
    # inside tokens 0 and 1, then `gap` tokens below threshold, then inside again
    p = probs({0: 0.9, 1: 0.9, 2 + gap: 0.9})
    want = [chars(0, 3 + gap)] if joined else [chars(0, 2), chars(2 + gap, 3 + gap)]
    assert spans(p, max_gap=max_gap) == want


def test_join_gaps_bridges_exactly_the_short_gaps():
    on = np.array([1, 0, 1, 0, 0, 1, 0, 0, 0, 1], dtype=bool)
    assert join_gaps(on, 2).astype(int).tolist() == [1, 1, 1, 1, 1, 1, 0, 0, 0, 1]
    assert join_gaps(on, 1).astype(int).tolist() == [1, 1, 1, 0, 0, 1, 0, 0, 0, 1]
    assert join_gaps(on, 0).tolist() == on.tolist()
    assert join_gaps(on, 3).all()
    assert on.astype(int).tolist() == [1, 0, 1, 0, 0, 1, 0, 0, 0, 1]  # the input is left as it was


def test_minimum_tokens():
    p = probs({1: 0.9, 2: 0.9, 6: 0.9, 7: 0.9, 8: 0.9})
    assert spans(p, min_tokens=2) == [chars(1, 3), chars(6, 9)]
    assert spans(p, min_tokens=3) == [chars(6, 9)]
    assert spans(p, min_tokens=4) == []


def test_minimum_characters():
    p = probs({1: 0.9, 2: 0.9, 6: 0.9})  # "bb cc" (5 characters) and "gg" (2)
    assert spans(p, min_chars=2) == [(3, 8), (18, 20)]
    assert spans(p, min_chars=3) == [(3, 8)]
    assert spans(p, min_chars=5) == [(3, 8)]
    assert spans(p, min_chars=6) == []


def test_a_confident_b_tag_starts_a_new_span():
    inside = {k: 0.9 for k in range(1, 6)}
    # token 3: P(B) 0.6 beats P(I) 0.4 and 0.5 -> spans [1, 3) and [3, 6)
    p = probs({**inside, 3: 0.4}, begin={3: 0.6})
    assert spans(p) == [chars(1, 3), chars(3, 6)]
    # P(B) must beat 0.5 ...
    assert spans(probs({**inside, 3: 0.5}, begin={3: 0.5})) == [chars(1, 6)]
    # ... even when it beats P(I)
    assert spans(probs({**inside, 3: 0.3}, begin={3: 0.45})) == [chars(1, 6)]
    # ... and P(I)
    assert spans(probs({**inside, 3: 0.45}, begin={3: 0.45})) == [chars(1, 6)]
    # a B on the first token of a run changes nothing
    assert spans(probs({**inside, 1: 0.3}, begin={1: 0.7})) == [chars(1, 6)]


def test_runs_widen_to_whole_words_and_b_inside_a_word_does_not_split():
    text = "abcdef gh ijkl"
    offsets = np.array([(0, 2), (2, 4), (4, 6), (7, 9), (10, 12), (12, 14)])  # ab+cd+ef, gh, ij+kl
    assert spans(probs({1: 0.9}, n=6), text=text, offsets=offsets) == [(0, 6)]
    assert spans(probs({3: 0.9, 4: 0.9}, n=6), text=text, offsets=offsets) == [(7, 14)]
    # B on "cd" (a word continuation) does not cut the run; B on "gh" (a word start) does
    p = probs({0: 0.9, 1: 0.3, 2: 0.9, 3: 0.9}, begin={1: 0.7}, n=6)
    assert spans(p, text=text, offsets=offsets) == [(0, 9)]
    p = probs({0: 0.9, 1: 0.3, 2: 0.9, 3: 0.3}, begin={1: 0.7, 3: 0.7}, n=6)
    assert spans(p, text=text, offsets=offsets) == [(0, 6), (7, 9)]


def test_decoded_span_carries_the_mean_inside_probability_of_its_tokens():
    # tokens 2..4 with P(inside) 0.9, 0.2 (a bridged gap), 0.7 -> mean 0.6
    p = probs({2: 0.9, 3: 0.2, 4: 0.7})
    (s, e, p_inside), = decode_si(OFFSETS, p, TEXT, 0.5, 1, max_gap=1)
    assert (s, e) == chars(2, 5) and p_inside == pytest.approx(0.6)


def test_span_confidence_formula():
    # Uncalibrated (slope 1, intercept 0): mean P(inside) of the span's tokens x P(technique | span).
    assert raw_confidence(0.6, 0.5) == pytest.approx(0.3)
    assert span_confidence(0.6, 0.5) == pytest.approx(0.3)
    assert span_confidence(1.0, 0.25) == pytest.approx(0.25)
    assert span_confidence(0.0, 0.9) == pytest.approx(0.0, abs=1e-5)
    # Calibrated: sigmoid(slope * logit(raw) + intercept), worked by hand.
    # raw 0.2: logit = ln(0.25) = -1.386294; 0.5 * -1.386294 + 1 = 0.306853; sigmoid = 0.576117
    assert span_confidence(0.4, 0.5, slope=0.5, intercept=1.0) == pytest.approx(0.576117, abs=1e-6)
    # raw 0.5: logit 0, so the intercept alone: sigmoid(-1) = 0.268941
    assert span_confidence(1.0, 0.5, slope=3.0, intercept=-1.0) == pytest.approx(0.268941, abs=1e-6)
    # monotone in the raw score whatever a positive slope, so the map keeps the spans' order
    raws = np.linspace(0.01, 0.99, 50)
    assert np.all(np.diff(calibrate(raws, 0.78, 0.1)) > 0)
    np.testing.assert_allclose(calibrate(raws), raws, rtol=1e-9)


def test_the_shipped_models_confidence_map_and_threshold_are_their_documented_ones():
    import json

    from propscope.detect.base import MODELS_DIR

    for name in ("default", "fast"):
        meta = json.loads((MODELS_DIR / name / "config.json").read_text())
        dec, cal = meta["decode"], meta["calibration"]
        assert (dec["confidence_slope"], dec["confidence_intercept"]) == (cal["slope"], cal["intercept"])
        assert dec["min_confidence"] == cal["decision_threshold"]
        assert 0 < dec["min_confidence"] < 0.5 and 0 < dec["confidence_slope"] < 2
        # the threshold kept the held-out fold's SI F1 of reporting every span (the rule in calibrate.py)
        f1 = cal["tune_si_f1_by_threshold"]
        assert f1[f"{dec['min_confidence']:.2f}"] >= f1["0.00"]


def test_labels_below_the_minimum_confidence_are_left_out():
    p = _tech_probs(Doubt=0.5, Slogans=0.45, Repetition=0.05)
    both = span_labels(p, TECHNIQUES, 0.8, second_label=0.45)
    # the cut sits between the two labels' confidences (0.4 and 0.36): only Doubt stays
    got = span_labels(p, TECHNIQUES, 0.8, second_label=0.45, min_confidence=0.38)
    assert [t for t, _ in both] == ["Doubt", "Slogans"] and got == both[:1]
    assert span_labels(p, TECHNIQUES, 0.8, second_label=0.45, min_confidence=0.4) == both[:1]  # inclusive
    assert span_labels(p, TECHNIQUES, 0.8, second_label=0.45, min_confidence=0.41) == []


def _tech_probs(**named: float) -> np.ndarray:
    p = np.zeros(len(TECHNIQUES))
    for k, v in named.items():
        p[TECHNIQUES.index(k)] = v
    return p


def test_second_technique_is_reported_from_its_threshold_on():
    p = _tech_probs(Doubt=0.5, Slogans=0.45, Repetition=0.05)
    got = span_labels(p, TECHNIQUES, 0.8, second_label=0.45)
    assert got == [("Doubt", pytest.approx(span_confidence(0.8, 0.5))),
                   ("Slogans", pytest.approx(span_confidence(0.8, 0.45)))]
    assert [t for t, _ in span_labels(p, TECHNIQUES, 0.8, second_label=0.46)] == ["Doubt"]
    # never a third, however likely
    p = _tech_probs(Doubt=0.36, Slogans=0.33, Repetition=0.31)
    assert [t for t, _ in span_labels(p, TECHNIQUES, 0.8, second_label=0.1)] == ["Doubt", "Slogans"]


def test_detect_reports_techniques_with_the_configured_second_label(monkeypatch):
    core = DetectorCore(None, None, None, DetectorConfig(second_label=0.3), (0, 0, 0))
    _fake_article(core, monkeypatch)
    preds = core.detect(["x" * 30])[0]
    assert preds == [
        SpanPrediction(0, 5, "Doubt", pytest.approx(span_confidence(0.8, 0.6))),
        SpanPrediction(0, 5, "Slogans", pytest.approx(span_confidence(0.8, 0.3))),
        SpanPrediction(10, 20, "Slogans", pytest.approx(span_confidence(0.5, 0.7))),
    ]


def test_detect_reports_calibrated_confidences_from_the_decision_threshold_on(monkeypatch):
    cfg = DetectorConfig(second_label=0.3, confidence_slope=0.5, confidence_intercept=-0.2,
                         min_confidence=0.3)
    core = DetectorCore(None, None, None, cfg, (0, 0, 0))
    _fake_article(core, monkeypatch)
    # raw 0.48, 0.24, 0.35 -> sigmoid(0.5 * logit(raw) - 0.2): 0.4403, 0.3151, 0.3753 (by hand: e.g.
    # logit(0.24) = ln(0.24 / 0.76) = -1.1527; 0.5 * -1.1527 - 0.2 = -0.7763; 1 / (1 + e^0.7763) = 0.3151)
    want = [(0, 5, "Doubt", 0.4403), (0, 5, "Slogans", 0.3151), (10, 20, "Slogans", 0.3753)]
    got = [(p.start, p.end, p.technique, round(p.confidence, 4)) for p in core.detect(["x" * 30])[0]]
    assert got == want
    core.config = DetectorConfig.from_dict({**cfg.to_dict(), "min_confidence": 0.32})
    assert [(p.start, p.technique) for p in core.detect(["x" * 30])[0]] == [(0, "Doubt"), (10, "Slogans")]


def _fake_article(core: DetectorCore, monkeypatch) -> None:
    """Two decoded spans, (0, 5) with P(inside) 0.8 and (10, 20) with 0.5, and their technique
    probabilities."""
    found = [(0, 5, 0.8), (10, 20, 0.5)]
    tech = np.stack([_tech_probs(Doubt=0.6, Slogans=0.3, Repetition=0.1),
                     _tech_probs(Slogans=0.7, Doubt=0.29, Repetition=0.01)])
    monkeypatch.setattr(core, "hidden_states", lambda texts: [(None, None)])
    monkeypatch.setattr(core, "identify", lambda text, enc, h: found)
    monkeypatch.setattr(core, "span_probs", lambda text, enc, h, sp: tech[: len(sp)])


# --- edge cases found by a mutation run (mutmut) over decoding ----------------------------------------------


def test_defaults_join_no_gaps_and_keep_one_token_spans():
    found = decode_si(OFFSETS, probs({1: 0.9, 3: 0.9}), TEXT, 0.5, 1)
    assert [(s, e) for s, e, _ in found] == [chars(1, 2), chars(3, 4)]


def test_a_text_of_one_token():
    assert spans(probs({0: 0.9}, n=1), text="abc", offsets=np.array([(0, 3)])) == [(0, 3)]
    assert spans(probs({}, n=0), text="", offsets=np.zeros((0, 2), dtype=int)) == []


def test_word_continuations_look_at_one_character_each_side():
    from propscope.detect.core import word_continuations

    # "ab c": b continues a (a one-character first token); c starts a word
    assert word_continuations(np.array([(0, 1), (1, 2), (3, 4)]), "ab c").tolist() == [False, True, False]
    # "x ab.": b continues a though a space lies two characters back and "." follows it
    offs = np.array([(0, 1), (2, 3), (3, 4), (4, 5)])
    assert word_continuations(offs, "x ab.").tolist() == [False, False, True, False]
