"""Document features of a candidate span that the encoder window cannot see well: repetition of the
phrase elsewhere in the article (and whether it came earlier), length, punctuation, quotes, capitals,
position, title overlap."""

from __future__ import annotations

import bisect
import math
import re
from collections import Counter

import numpy as np

N_FEATURES = 14  # models trained before the two repetition flags were added use the first 12
_WORD = re.compile(r"\w+", re.UNICODE)
_QUOTES = "\"'“”‘’«»"


def _norm(s: str) -> str:
    return " ".join(_WORD.findall(s.lower()))


class DocFeatures:
    """Per-article precomputation; ``span(start, end)`` returns the feature vector of one span."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.norm = _norm(text)
        self.words = Counter(_WORD.findall(text.lower()))
        nl = text.find("\n")
        self.title_end = nl if nl >= 0 else len(text)
        self.n = max(1, len(text))
        self._tok_starts: list[int] = []
        words = []
        for m in _WORD.finditer(text):
            self._tok_starts.append(m.start())
            words.append(m.group().lower())
        self._padded = " " + " ".join(words) + " "
        self._word_pos = []  # where each word starts in ``_padded``
        pos = 1
        for w in words:
            self._word_pos.append(pos)
            pos += len(w) + 1

    def repeats(self, start: int, end: int) -> tuple[bool, bool]:
        """(the span's words occur earlier in the article, they occur later), matched as whole words.

        In PTC, Repetition is labelled on the later occurrences of a repeated phrase, rarely on the first.
        """
        norm = _norm(self.text[start:end])
        if not norm:
            return False, False
        here = bisect.bisect_left(self._tok_starts, start)
        key = f" {norm} "
        earlier = later = False
        k = self._padded.find(key)
        while k >= 0:
            w = bisect.bisect_left(self._word_pos, k + 1)
            if w < here:
                earlier = True
            elif w > here:
                later = True
            k = self._padded.find(key, k + 1)
        return earlier, later

    def span(self, start: int, end: int) -> np.ndarray:
        t = self.text[start:end]
        norm = _norm(t)
        occ = self.norm.count(norm) if norm else 0
        others = max(0, occ - 1)
        words = [w for w in _WORD.findall(t.lower()) if len(w) >= 4]
        wc = [math.log1p(max(0, self.words[w] - 1)) for w in words] or [0.0]
        letters = [c for c in t if c.isalpha()]
        upper = sum(c.isupper() for c in letters) / len(letters) if letters else 0.0
        before = self.text[max(0, start - 3) : start]
        quoted = any(q in before for q in _QUOTES) or any(q in t for q in _QUOTES)
        return np.array(
            [
                math.log1p(others),
                1.0 if others else 0.0,
                math.log1p(len(t)) / 6.0,
                min(len(norm.split()), 40) / 20.0,
                1.0 if "!" in t else 0.0,
                1.0 if "?" in t else 0.0,
                1.0 if quoted else 0.0,
                upper,
                start / self.n,
                1.0 if start < self.title_end else 0.0,
                sum(wc) / len(wc),
                max(wc),
                *(1.0 if f else 0.0 for f in self.repeats(start, end)),
            ],
            dtype=np.float32,
        )
