"""A lexical technique classifier: logistic regression over the words and character n-grams of a span.

It complements the encoder's span classifier with what a 6-layer encoder sees poorly: the exact wording
("the American people", "witch hunt", "so-called"). Features are computed here in plain Python, the same way
at training time (``propscope_train.lexical``) and at run time, so no scikit-learn is needed to run it:

- words: lowercased word unigrams and bigrams (words of 2+ characters, as scikit-learn's default pattern);
- characters: 2- to 5-grams inside each whitespace-separated token padded with spaces (``char_wb``).

Each block is weighted ``(1 + log tf) * idf`` and L2-normalised on its own, then the two are concatenated.
"""

from __future__ import annotations

import math
import os
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

_WORD = re.compile(r"\b\w\w+\b", re.UNICODE)
WORD_PREFIX, CHAR_PREFIX = "w:", "c:"


def word_features(text: str) -> Counter[str]:
    toks = _WORD.findall(text.lower())
    grams = Counter(WORD_PREFIX + t for t in toks)
    grams.update(f"{WORD_PREFIX}{a} {b}" for a, b in zip(toks, toks[1:], strict=False))
    return grams


def char_features(text: str, lo: int = 2, hi: int = 5) -> Counter[str]:
    grams: Counter[str] = Counter()
    for tok in text.split():
        p = f" {tok} "
        for n in range(lo, hi + 1):
            grams.update(CHAR_PREFIX + p[i : i + n] for i in range(len(p) - n + 1))
    return grams


def features(text: str) -> tuple[Counter[str], Counter[str]]:
    """(word block, character block) raw counts of one span's text."""
    return word_features(text), char_features(text)


class LexicalModel:
    """Vocabulary, idf and multinomial logistic-regression weights; ``predict_proba(texts)`` -> (n, k)."""

    def __init__(self, vocab: Sequence[str], idf: np.ndarray, coef: np.ndarray, intercept: np.ndarray,
                 techniques: Sequence[str]) -> None:
        self.vocab = {t: i for i, t in enumerate(vocab)}
        self.terms = list(vocab)
        self.idf = np.asarray(idf, dtype=np.float32)
        self.coef = np.asarray(coef, dtype=np.float32)  # (V, k)
        self.intercept = np.asarray(intercept, dtype=np.float32)
        self.techniques = list(techniques)
        if self.coef.shape != (len(self.terms), len(self.techniques)) or len(self.idf) != len(self.terms):
            raise ValueError("lexical model: vocabulary, idf and weights disagree in size")

    # -- features ---------------------------------------------------------------------------------
    def _block(self, counts: Counter[str]) -> tuple[list[int], list[float]]:
        idx, val = [], []
        for term, c in counts.items():
            i = self.vocab.get(term)
            if i is not None:
                idx.append(i)
                val.append((1.0 + math.log(c)) * float(self.idf[i]))
        norm = math.sqrt(sum(v * v for v in val)) or 1.0
        return idx, [v / norm for v in val]

    def sparse_row(self, text: str) -> tuple[list[int], list[float]]:
        """Column indices and values of one span's feature vector."""
        wi, wv = self._block(word_features(text))
        ci, cv = self._block(char_features(text))
        return wi + ci, wv + cv

    # -- prediction -------------------------------------------------------------------------------
    def decision_function(self, texts: Iterable[str]) -> np.ndarray:
        rows = []
        for t in texts:
            idx, val = self.sparse_row(t)
            z = self.intercept.copy()
            if idx:
                z += np.asarray(val, dtype=np.float32) @ self.coef[np.asarray(idx)]
            rows.append(z)
        if not rows:
            return np.zeros((0, len(self.techniques)), dtype=np.float32)
        return np.stack(rows)

    def predict_proba(self, texts: Iterable[str]) -> np.ndarray:
        z = self.decision_function(texts)
        z = z - z.max(axis=1, keepdims=True) if len(z) else z
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True) if len(z) else e

    def reorder(self, techniques: Sequence[str]) -> LexicalModel:
        """The same model with its columns in ``techniques`` order (which must hold the same names)."""
        if sorted(techniques) != sorted(self.techniques):
            raise ValueError("lexical model: its techniques differ from the detector's")
        cols = [self.techniques.index(t) for t in techniques]
        return LexicalModel(self.terms, self.idf, self.coef[:, cols], self.intercept[cols], techniques)

    # -- storage ----------------------------------------------------------------------------------
    def save(self, path: str | os.PathLike[str]) -> None:
        np.savez_compressed(path, vocab=np.array(self.terms), idf=self.idf.astype(np.float32),
                            coef=self.coef.astype(np.float16), intercept=self.intercept.astype(np.float32),
                            techniques=np.array(self.techniques))

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> LexicalModel:
        with np.load(Path(path)) as z:
            return cls([str(x) for x in z["vocab"]], z["idf"], z["coef"].astype(np.float32), z["intercept"],
                       [str(x) for x in z["techniques"]])
