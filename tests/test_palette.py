"""The 14 technique colours: at least 3:1 contrast against the page backgrounds, and told apart by readers
with normal vision and with each kind of dichromacy (simulated), so the page does not pair shades of one hue.

Contrast is WCAG 2 relative-luminance contrast; colour-blindness is simulated with the Machado, Oliveira and
Fernandes (2009) matrices at full severity; differences are CIE76 distances in CIELAB.
"""

from __future__ import annotations

import itertools
import re

import pytest

from propscope.techniques import TECHNIQUES, all_techniques

BACKGROUNDS = {"card": "#ffffff", "page": "#f6f7f9"}  # style.css --card and --bg
MIN_CONTRAST = 3.0
MIN_DELTA_E = 15.0  # smallest CIE76 distance between two technique colours, in every vision simulated

CVD = {  # linear-RGB matrices, Machado et al. 2009, severity 1.0
    "deuteranopia": ((0.367322, 0.860646, -0.227968), (0.280085, 0.672501, 0.047413),
                     (-0.011820, 0.042940, 0.968881)),
    "protanopia": ((0.152286, 1.052583, -0.204868), (0.114503, 0.786281, 0.099216),
                   (-0.003882, -0.048116, 1.051998)),
    "tritanopia": ((1.255528, -0.076749, -0.178779), (-0.078411, 0.930809, 0.147602),
                   (0.004733, 0.691367, 0.303900)),
}


def _linear(hex_colour: str) -> tuple[float, float, float]:
    rgb = [int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    return tuple(c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb)  # type: ignore


def luminance(hex_colour: str) -> float:
    r, g, b = _linear(hex_colour)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def _lab(lin: tuple[float, float, float]) -> tuple[float, float, float]:
    r, g, b = (min(1.0, max(0.0, c)) for c in lin)
    xyz = (0.4124 * r + 0.3576 * g + 0.1805 * b, 0.2126 * r + 0.7152 * g + 0.0722 * b,
           0.0193 * r + 0.1192 * g + 0.9505 * b)
    f = [v ** (1 / 3) if v > 216 / 24389 else (24389 / 27 * v + 16) / 116
         for v in (xyz[0] / 0.95047, xyz[1], xyz[2] / 1.08883)]
    return 116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])


def seen_as(hex_colour: str, vision: str) -> tuple[float, float, float]:
    lin = _linear(hex_colour)
    if vision != "normal":
        lin = tuple(sum(m * c for m, c in zip(row, lin, strict=True)) for row in CVD[vision])  # type: ignore
    return _lab(lin)


def delta_e(a, b) -> float:
    return sum((x - y) ** 2 for x, y in zip(a, b, strict=True)) ** 0.5


def test_the_helpers_give_known_values():
    assert contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)
    # red and green look alike to a deuteranope, not to others
    assert delta_e(seen_as("#d62728", "normal"), seen_as("#2ca02c", "normal")) > 60
    assert delta_e(seen_as("#cc3333", "deuteranopia"), seen_as("#808000", "deuteranopia")) < 25
    # the old palette failed both checks
    assert contrast("#aec7e8", "#ffffff") < MIN_CONTRAST


def test_every_technique_has_a_colour_and_a_short_label():
    table = all_techniques()
    assert [t.name for t in table] == list(TECHNIQUES)
    for t in table:
        assert re.fullmatch(r"#[0-9a-f]{6}", t.colour), t.name
        assert t.short and len(t.short) <= 12, t.name
    assert len({t.colour for t in table}) == 14
    assert len({t.short for t in table}) == 14


@pytest.mark.parametrize("background", sorted(BACKGROUNDS))
def test_colours_have_3_to_1_contrast_against_the_page(background):
    bg = BACKGROUNDS[background]
    low = {t.name: round(contrast(t.colour, bg), 2) for t in all_techniques()
           if contrast(t.colour, bg) < MIN_CONTRAST}
    assert not low, f"under {MIN_CONTRAST}:1 against {bg}: {low}"


@pytest.mark.parametrize("vision", ["normal", *CVD])
def test_colours_are_distinguishable(vision):
    table = all_techniques()
    worst = min(itertools.combinations(table, 2),
                key=lambda p: delta_e(seen_as(p[0].colour, vision), seen_as(p[1].colour, vision)))
    d = delta_e(seen_as(worst[0].colour, vision), seen_as(worst[1].colour, vision))
    assert d >= MIN_DELTA_E, f"{vision}: {worst[0].name} and {worst[1].name} differ by only {d:.1f}"
