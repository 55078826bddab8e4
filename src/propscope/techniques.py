"""The 14 propaganda techniques of the Propaganda Techniques Corpus (SemEval-2020 Task 11)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Technique:
    name: str
    label: str
    definition: str
    colour: str
    """#rrggbb; the 14 colours are told apart under colour-blindness simulations and have at least 3:1
    contrast against white (tests/test_palette.py)"""
    short: str = ""
    """a one-word label shown on each highlighted span, so that colour is not the only cue"""


_TABLE: tuple[Technique, ...] = (
    Technique("Appeal_to_Authority", "Appeal to authority",
              "Claims something is true because an authority or expert said so, without other evidence.",
              "#824d8c", "Authority"),
    Technique("Appeal_to_fear-prejudice", "Appeal to fear / prejudice",
              "Builds support by stirring up anxiety, panic or existing prejudice about an alternative.",
              "#8c385b", "Fear"),
    Technique("Bandwagon,Reductio_ad_hitlerum", "Bandwagon / Reductio ad Hitlerum",
              "Urges agreement because 'everyone' does, or rejects an idea because a hated group holds it.",
              "#8139e5", "Bandwagon"),
    Technique("Black-and-White_Fallacy", "Black-and-white fallacy",
              "Presents two options as the only ones possible when more exist.",
              "#9812b2", "Black/white"),
    Technique("Causal_Oversimplification", "Causal oversimplification",
              "Blames a complex outcome on a single cause, or on one cause among many.",
              "#595900", "Cause"),
    Technique("Doubt", "Doubt",
              "Questions the credibility of someone or something to undermine it.",
              "#99823d", "Doubt"),
    Technique("Exaggeration,Minimisation", "Exaggeration / minimisation",
              "Makes something look far bigger, better or worse than it is, or plays it down.",
              "#bf7069", "Exaggeration"),
    Technique("Flag-Waving", "Flag-waving",
              "Plays on patriotism or group identity to justify an idea or action.",
              "#446638", "Flag"),
    Technique("Loaded_Language", "Loaded language",
              "Uses words or phrases with strong emotional charge to sway the reader.",
              "#5500ff", "Loaded"),
    Technique("Name_Calling,Labeling", "Name calling / labeling",
              "Attaches a label the audience fears, hates or admires to a person or group.",
              "#739900", "Name-calling"),
    Technique("Repetition", "Repetition",
              "Repeats the same message again and again so that the audience comes to accept it.",
              "#528fcc", "Repetition"),
    Technique("Slogans", "Slogans",
              "A brief, striking phrase that works as a rallying cry, often with labels or stereotypes.",
              "#ff00bf", "Slogan"),
    Technique("Thought-terminating_Cliches", "Thought-terminating cliché",
              "A short stock phrase that shuts down critical thought and further discussion.",
              "#b266ff", "Cliché"),
    Technique("Whataboutism,Straw_Men,Red_Herring", "Whataboutism / straw man / red herring",
              "Deflects criticism by pointing at the opponent, distorting their view, or changing topic.",
              "#e55c95", "Whatabout"),
)

TECHNIQUES: tuple[str, ...] = tuple(t.name for t in _TABLE)
"""The 14 technique names, exactly as written in PTC label files, in PTC's order."""

BY_NAME: dict[str, Technique] = {t.name: t for t in _TABLE}


def get(name: str) -> Technique:
    """Return the technique called ``name`` (a PTC label); raises KeyError naming it otherwise."""
    try:
        return BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown technique {name!r}; known: {', '.join(TECHNIQUES)}") from None


def all_techniques() -> tuple[Technique, ...]:
    return _TABLE
