"""Compare maps from a model's raw span scores to calibrated confidences on its held-out train fold (never
dev), the way the shipped map (Platt scaling of logit(P(span) x P(technique))) was chosen.

    python benchmarks/calibration_maps.py --model default --data ../shared/data/ptc
    python benchmarks/calibration_maps.py --model default --fold-model runs/s4-f1 --fold-model runs/s4-f2

For each map: expected calibration error (10 bins) and log-loss of the labels' confidences cross-validated
over the fold's articles (5 folds), and the Spearman correlation of the article score (computed with the
map fitted on the whole fold) with the gold share of technique characters. Maps: ``platt`` (the shipped one),
``two`` (logistic regression on logit P(span) and logit P(technique) separately), ``isotonic`` (isotonic
regression on the raw score; needs scikit-learn) and ``raw`` (no map). With ``--fold-model`` (models trained
the same way with other folds held out, decoding with the model's settings), their held-out labels join and
the cross-validation leaves out one model's fold at a time.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from propscope.calibrate import expected_calibration_error, fit_platt, labelled_predictions, pooled
from propscope.detect.core import calibrate
from propscope.detect.onnx import OnnxDetector
from propscope.detect.scores import article_score
from propscope.scoring import gold_density, spearman
from propscope.tune import fold_models


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def fit_map(name: str, raw: np.ndarray, pairs: np.ndarray, right: np.ndarray):
    """A function (raw, pairs) -> confidences fitted on these labels."""
    if name == "raw":
        return lambda r, _p: r
    if name == "platt":
        a, b = fit_platt(raw, right)
        return lambda r, _p: np.asarray(calibrate(r, a, b))
    if name == "isotonic":
        from sklearn.isotonic import IsotonicRegression

        iso = IsotonicRegression(out_of_bounds="clip", y_min=0, y_max=1).fit(raw, right)
        return lambda r, _p: iso.predict(r)
    from sklearn.linear_model import LogisticRegression

    lr = LogisticRegression(C=1e3).fit(_logit(pairs), right)
    return lambda _r, p: lr.predict_proba(_logit(p))[:, 1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="default")
    ap.add_argument("--data", type=Path, default=Path("../shared/data/ptc"))
    ap.add_argument("--fold-model", type=Path, action="append", default=[],
                    help="a cross-fitted model of the same recipe (repeat)")
    args = ap.parse_args()
    from propscope.detect.base import resolve_model

    path = resolve_model(args.model)
    meta = json.loads((path / "config.json").read_text())
    core = OnnxDetector(path).core
    own, folds, _ = fold_models(meta, path, args.data, args.fold_model)
    for c, _docs in folds:
        c.config = core.config
    runs = [(core, own), *folds]
    parts = [labelled_predictions(c, ds) for c, ds in runs]
    lab = pooled(parts)
    docs = [d for _, ds in runs for d in ds]
    pairs = lab.parts
    if folds:  # leave one model's fold out at a time
        which = np.concatenate([np.full(len(p.raw), i) for i, p in enumerate(parts)])
    else:
        ids = sorted({k[0] for k in lab.keys})
        fold_of = {aid: i % 5 for i, aid in enumerate(ids)}
        which = np.array([fold_of[k[0]] for k in lab.keys])
    density = [gold_density(d.text, d.si) for d in docs]
    out = {"articles": len(docs), "labels": len(lab.raw), "right": round(float(lab.right.mean()), 4),
           "models": len(runs)}
    for name in ("raw", "platt", "two", "isotonic"):
        cv = np.zeros(len(lab.raw))
        for f in np.unique(which):
            test = which == f
            m = fit_map(name, lab.raw[~test], pairs[~test], lab.right[~test])
            cv[test] = m(lab.raw[test], pairs[test])
        c = np.clip(cv, 1e-6, 1 - 1e-6)
        nll = float(-np.mean(lab.right * np.log(c) + (~lab.right) * np.log(1 - c)))
        full = fit_map(name, lab.raw, pairs, lab.right)(lab.raw, pairs)
        by: dict[str, list] = {}
        for (aid, s, e, _t), conf in zip(lab.keys, full, strict=True):
            by.setdefault(aid, []).append((s, e, float(conf)))
        rho = spearman([article_score(d.text, by.get(d.id, [])) for d in docs], density)
        out[name] = {"cv_ece": round(expected_calibration_error(cv, lab.right), 4),
                     "cv_log_loss": round(nll, 4), "article_spearman": round(rho, 4)}
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
