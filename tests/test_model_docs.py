"""The README's dev figures and the model cards' stated settings agree with the pinned measurements
(test_dev_scores.py) and with each shipped model's config.json."""

from __future__ import annotations

import json
import re

import pytest
from conftest import REPO
from test_dev_scores import PINNED

MODELS = REPO / "src" / "propscope" / "models"
README = (REPO / "README.md").read_text(encoding="utf-8")


def _row(text: str, label: str) -> list[str]:
    """The cells after the first one of the markdown table row that starts with ``label``."""
    line = next((x for x in text.splitlines() if x.startswith(f"| {label}")), None)
    assert line is not None, f"no table row starting with {label!r}"
    return [c.strip() for c in line.strip().strip("|").split("|")][1:]


def _num(pattern: str, text: str, what: str) -> float:
    m = re.search(pattern, text)
    assert m, f"{what}: pattern {pattern!r} not found"
    return float(m.group(1).rstrip("."))  # a figure may end a sentence


def test_readme_dev_figures_are_the_pinned_measurements():
    si = _row(README, "SI span F1")
    tc = _row(README, "TC micro-F1")
    cal = _row(README, "TC calibration error")
    conf = _row(README, "span confidence calibration error")
    for col, name in enumerate(["default", "fast"]):
        pin = PINNED[name]
        m = re.match(r"([\d.]+) \(P ([\d.]+), R ([\d.]+)\)", si[col])
        assert m, si[col]
        assert [float(x) for x in m.groups()] == [round(pin[k], 3) for k in ("si_f1", "si_precision",
                                                                            "si_recall")], name
        assert float(tc[col]) == round(pin["tc_micro_f1"], 3), name
        assert float(cal[col]) == round(pin["tc_calibration_error"], 3), name
        assert float(conf[col].split()[0]) == round(pin["confidence_calibration_error"], 3), name


@pytest.mark.parametrize("name", sorted(PINNED))
def test_model_card_dev_figures_are_the_pinned_measurements(name):
    card = (MODELS / name / "MODEL_CARD.md").read_text(encoding="utf-8")
    pin = PINNED[name]
    p, r, f = (float(c.strip("* ")) for c in _row(card, "SI (span identification)"))
    assert (p, r, f) == (round(pin["si_precision"], 3), round(pin["si_recall"], 3), round(pin["si_f1"], 3))
    tc = _row(card, "TC (technique classification")[-1]
    assert float(tc.split()[0].strip("*")) == round(pin["tc_micro_f1"], 3)
    if name == "fast":  # the fast card quotes the default model's figures too
        assert f"scores SI {round(PINNED['default']['si_f1'], 3)} and TC " \
               f"{round(PINNED['default']['tc_micro_f1'], 3)}" in " ".join(card.split())


def _decode(name: str) -> dict:
    return json.loads((MODELS / name / "config.json").read_text(encoding="utf-8"))["decode"]


# Where each model card states each decoding setting: config.json's decode key -> a pattern whose group is
# the stated value.
STATED = {
    "default": {
        "window": r"windows of (\d+) word pieces",
        "stride": r"word pieces every (\d+)",
        "si_threshold": r"P\(inside\) >= ([\d.]+) form runs",
        "max_gap": r"runs at most (\d+) tokens apart",
        "tc_temperature": r"Softmax with temperature ([\d.]+)",
        "lexical_weight": r"mixed in with weight ([\d.]+)",
        "repetition_earlier": r"gets ([+-][\d.]+) when the span's words occur earlier",
        "repetition_single": r"([+-]?[\d.]+) when they occur nowhere else",
        "repetition_later": r"and ([+-]?[\d.]+) when they occur only later",
        "second_label": r"second technique is reported for a span when its probability is at least ([\d.]+)",
        "confidence_slope": r"sigmoid\(([\d.]+) x logit\(raw\)",
        "confidence_intercept": r"x logit\(raw\) \+ ([+-]?[\d.]+)\)",
        "min_confidence": r"decision threshold of ([\d.]+) on that scale",
        "batch_size": r"go through the encoder (\d+) windows per encoder call",
    },
    "fast": {
        "window": r"windows of (\d+) word pieces",
        "stride": r"word pieces every (\d+)",
        "si_threshold": r"SI threshold ([\d.]+),",
        "max_gap": r"gaps of up to (\d+) tokens bridged",
        "tc_temperature": r"TC temperature ([\d.]+)",
        "lexical_weight": r"lexical weight ([\d.]+)",
        "repetition_earlier": r"Repetition prior ([+-][\d.]+) \(earlier\)",
        "repetition_later": r"([+-][\d.]+) \(only later\)",
        "repetition_single": r"([+-][\d.]+) \(nowhere else\)",
        "confidence_slope": r"sigmoid\(([\d.]+) x logit",
        "confidence_intercept": r"P\(technique\)\) \+ ([+-]?[\d.]+)\)",
        "min_confidence": r"decision threshold ([\d.]+) on that scale",
        "batch_size": r"encoder runs (\d+) windows per call",
    },
}


@pytest.mark.parametrize("name", sorted(STATED))
def test_model_card_states_the_decoding_settings_of_its_config(name):
    card = " ".join((MODELS / name / "MODEL_CARD.md").read_text(encoding="utf-8").split())
    decode = json.loads((MODELS / name / "config.json").read_text(encoding="utf-8"))["decode"]
    stated = {key: _num(pattern, card, f"{name} card, {key}") for key, pattern in STATED[name].items()}
    assert stated == {key: float(decode[key]) for key in stated}
    if name == "fast":  # its known limits quote the threshold again
        assert _num(r"against a threshold of ([\d.]+)", card, "limits") == decode["si_threshold"]
