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
    for col, name in enumerate(["default", "fast"]):
        pin = PINNED[name]
        m = re.match(r"([\d.]+) \(P ([\d.]+), R ([\d.]+)\)", si[col])
        assert m, si[col]
        assert [float(x) for x in m.groups()] == [round(pin[k], 3) for k in ("si_f1", "si_precision",
                                                                            "si_recall")], name
        assert float(tc[col]) == round(pin["tc_micro_f1"], 3), name
        assert float(cal[col]) == round(pin["tc_calibration_error"], 3), name


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


def test_default_model_card_states_the_decoding_settings_of_its_config():
    card = " ".join((MODELS / "default" / "MODEL_CARD.md").read_text(encoding="utf-8").split())
    d = _decode("default")
    stated = {
        "window": _num(r"windows of (\d+) word pieces", card, "window"),
        "stride": _num(r"word pieces every (\d+)", card, "stride"),
        "si_threshold": _num(r"P\(inside\) >= ([\d.]+) form runs", card, "SI threshold"),
        "max_gap": _num(r"runs at most (\d+) tokens apart", card, "gap"),
        "tc_temperature": _num(r"Softmax with temperature ([\d.]+)", card, "temperature"),
        "lexical_weight": _num(r"mixed in with weight ([\d.]+)", card, "lexical weight"),
        "repetition_earlier": _num(r"gets ([+-][\d.]+) when the span's words occur earlier", card, "earlier"),
        "repetition_single": _num(r"([+-]?[\d.]+) when they occur nowhere else", card, "single"),
        "repetition_later": _num(r"and ([+-]?[\d.]+) when they occur only later", card, "later"),
        "second_label": _num(r"second technique is reported for a span when its probability is at least "
                             r"([\d.]+)", card, "second label"),
    }
    assert stated == {k: float(d[k]) for k in stated}


def test_fast_model_card_states_the_decoding_settings_of_its_config():
    card = " ".join((MODELS / "fast" / "MODEL_CARD.md").read_text(encoding="utf-8").split())
    d = _decode("fast")
    stated = {
        "window": _num(r"windows of (\d+) word pieces", card, "window"),
        "stride": _num(r"word pieces every (\d+)", card, "stride"),
        "si_threshold": _num(r"SI threshold ([\d.]+),", card, "SI threshold"),
        "max_gap": _num(r"gaps of up to (\d+) tokens bridged", card, "gap"),
        "tc_temperature": _num(r"TC temperature ([\d.]+)", card, "temperature"),
        "lexical_weight": _num(r"lexical weight ([\d.]+)", card, "lexical weight"),
        "repetition_earlier": _num(r"Repetition prior ([+-][\d.]+) \(earlier\)", card, "earlier"),
        "repetition_later": _num(r"([+-][\d.]+) \(only later\)", card, "later"),
        "repetition_single": _num(r"([+-][\d.]+) \(nowhere else\)", card, "single"),
        "threshold in the limits section": _num(r"against a threshold of ([\d.]+)", card, "limits"),
    }
    want = {k: float(d[k]) for k in stated if k in d}
    want["threshold in the limits section"] = float(d["si_threshold"])
    assert stated == want
