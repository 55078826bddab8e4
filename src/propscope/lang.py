"""Language identification (py3langid): the model is English-only, so other languages get a warning."""

from __future__ import annotations

from functools import lru_cache

MODEL_LANGUAGE = "en"
"""The language the shipped models were trained on (PTC is English news)."""

SAMPLE_CHARS = 5_000
"""Characters of an article looked at; the start of an article tells its language well enough."""

MIN_CONFIDENCE = 0.9
"""A language other than English is reported only when identified with at least this probability."""


@lru_cache(maxsize=1)
def _identifier():
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def identify(text: str) -> tuple[str, float]:
    """``(ISO 639-1 code, probability)`` of the language of ``text`` (its first SAMPLE_CHARS characters)."""
    lang, prob = _identifier().classify(text[:SAMPLE_CHARS])
    return str(lang), float(prob)


def language_warning(text: str, declared: str | None = None) -> tuple[str | None, str | None]:
    """``(language, warning)`` for an article: the declared language (``--lang``) or the identified one, and
    a warning when it is not English (spans found, or not found, in other languages mean little)."""
    if declared:
        lang = declared.lower()
    else:
        if sum(c.isalpha() for c in text[:SAMPLE_CHARS]) < 20:
            return None, None  # too little text to tell
        lang, prob = identify(text)
        if lang != MODEL_LANGUAGE and prob < MIN_CONFIDENCE:
            return None, None
    if lang == MODEL_LANGUAGE:
        return lang, None
    return lang, (f"the text looks like language '{lang}', not English; the model was trained on English "
                  "news only, so the spans found (or the lack of them) say little; pass --lang en (API: "
                  '"lang": "en") if it is English')
