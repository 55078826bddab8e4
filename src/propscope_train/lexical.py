"""Fit the lexical technique classifier (``propscope.detect.lexical``) on the gold spans of PTC articles.

    python -m propscope_train.lexical --model runs/m2 --data ../shared/data/ptc

fits it on the same train articles the model's encoder was trained on (the held-out tune fold stays out,
so that ``propscope tune`` can weigh it against the encoder fairly) and writes ``lexical.npz`` into the
model folder. scikit-learn does the fitting only; the runtime needs numpy alone.
"""

from __future__ import annotations

import argparse
import json
import math
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from propscope.detect.lexical import LexicalModel, features
from propscope.ptc import PtcDocument, load_split
from propscope.techniques import TECHNIQUES
from propscope.tune import model_split

WORD_MIN_DF, CHAR_MIN_DF = 2, 3


def span_groups(docs: Sequence[PtcDocument]) -> list[tuple[str, list[str]]]:
    """(span text, its techniques) for every distinct gold span."""
    return [(d.text[s:e], techs) for d in docs for (s, e), techs in d.tc_groups().items()]


def fit_lexical(docs: Sequence[PtcDocument], c: float = 1.0, seed: int = 0) -> LexicalModel:
    """Vocabulary and idf from the spans of ``docs``, then a multinomial logistic regression (soft labels:
    a span with several techniques counts once, split between them)."""
    from scipy.sparse import csr_matrix
    from sklearn.linear_model import LogisticRegression

    groups = span_groups(docs)
    if not groups:
        raise ValueError("no labelled spans to fit the lexical classifier on")
    feats = [features(t) for t, _ in groups]
    vocab: list[str] = []
    idf: list[float] = []
    n = len(feats)
    for block, min_df in ((0, WORD_MIN_DF), (1, CHAR_MIN_DF)):
        df: Counter[str] = Counter()
        for f in feats:
            df.update(f[block].keys())
        for term in sorted(t for t, k in df.items() if k >= min_df):
            vocab.append(term)
            idf.append(math.log((1 + n) / (1 + df[term])) + 1.0)
    k = len(TECHNIQUES)
    proto = LexicalModel(vocab, np.array(idf), np.zeros((len(vocab), k)), np.zeros(k), TECHNIQUES)
    rows, cols, vals, labels, weights = [], [], [], [], []
    r = 0
    for (text, techs) in groups:
        idx, val = proto.sparse_row(text)
        for t, cnt in Counter(techs).items():
            rows.extend([r] * len(idx))
            cols.extend(idx)
            vals.extend(val)
            labels.append(TECHNIQUES.index(t))
            weights.append(cnt / len(techs))
            r += 1
    x = csr_matrix((vals, (rows, cols)), shape=(r, len(vocab)), dtype=np.float64)
    lr = LogisticRegression(C=c, max_iter=3000, random_state=seed)
    lr.fit(x, np.array(labels), sample_weight=np.array(weights))
    coef = np.zeros((len(vocab), k))
    intercept = np.full(k, -30.0)  # a technique never seen in training gets ~0 probability
    coef[:, lr.classes_] = lr.coef_.T
    intercept[lr.classes_] = lr.intercept_
    return LexicalModel(vocab, np.array(idf), coef, intercept, TECHNIQUES)


def fit_for_model(model_dir: Path, data: Path, c: float = 1.0) -> LexicalModel:
    """Fit on the train articles the model in ``model_dir`` was trained on and save ``lexical.npz`` there."""
    meta = json.loads((model_dir / "config.json").read_text())
    _, fit = model_split(meta, load_split(data / "train"))
    model = fit_lexical(fit, c=c)
    model.save(model_dir / "lexical.npz")
    return model


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, required=True)
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--c", type=float, default=1.0, help="inverse regularisation strength")
    a = ap.parse_args()
    m = fit_for_model(a.model, a.data, a.c)
    print(f"lexical classifier: {len(m.terms)} features -> {a.model / 'lexical.npz'}")


if __name__ == "__main__":
    main()
