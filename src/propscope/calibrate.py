"""Calibrate a model's span confidences on its held-out train fold (never dev) and measure their calibration.

A span's confidence for a technique is defined as *the estimated probability that a gold span carrying this
technique overlaps the span*. The raw score, P(span) x P(technique | span), is mapped by Platt scaling,
``sigmoid(a * logit(raw) + b)``, fitted by maximum likelihood on the technique labels the model gives on its
held-out train fold (a label is right when a gold span of its technique overlaps it). The map is monotone, so
it keeps the order of the spans. The decision threshold on that scale (decode ``min_confidence``) is the
highest point of ``THRESHOLDS`` at which the fold's SI F1 is still at least that of reporting every decoded
span: labels below it add nothing measurable there.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .detect.base import SpanPrediction
from .detect.core import DetectorCore, calibrate
from .ptc import PtcDocument
from .scoring import score_si

DEFINITION = ("the estimated probability that a gold span carrying this technique overlaps the span "
              "(calibrated on the model's held-out train fold)")
THRESHOLDS = [round(x, 2) for x in np.arange(0.0, 0.51, 0.05)]
BINS = 10


@dataclass(frozen=True)
class Labelled:
    """Technique labels with their raw score and whether a gold span of that technique overlaps them."""

    keys: list[tuple[str, int, int, str]]  # (article id, start, end, technique)
    raw: np.ndarray
    right: np.ndarray  # bool
    parts: np.ndarray | None = None  # (n, 2): P(span), P(technique); raw is their product


def overlaps_gold(preds: Sequence[tuple[str, int, int, str]], gold: Sequence[tuple[str, str, int, int]]
                  ) -> np.ndarray:
    """For each predicted label ``(id, start, end, technique)``, whether a gold row ``(id, technique, start,
    end)`` of the same article and technique overlaps it."""
    by: dict[tuple[str, str], list[tuple[int, int]]] = defaultdict(list)
    for aid, t, s, e in gold:
        by[(aid, t)].append((s, e))
    return np.array([any(gs < e and s < ge for gs, ge in by.get((aid, t), ())) for aid, s, e, t in preds],
                    dtype=bool)


def labelled_predictions(core: DetectorCore, docs: Sequence[PtcDocument]) -> Labelled:
    """Every technique label the model gives on ``docs`` (before any confidence cut), with its raw score."""
    cfg = core.config
    keys, parts = [], []
    for d in docs:
        (enc, h), = core.hidden_states([d.text])
        found = core.identify(d.text, enc, h)
        probs = core.span_probs(d.text, enc, h, [(s, e) for s, e, _ in found])
        for (s, e, p_in), p in zip(found, probs, strict=True):
            order = np.argsort(-p, kind="stable")
            for rank, k in enumerate(order[:2]):
                if rank == 1 and p[k] < cfg.second_label:
                    break
                keys.append((d.id, s, e, core.techniques[int(k)]))
                parts.append((p_in, float(p[k])))
    pairs = np.array(parts, dtype=np.float64).reshape(-1, 2)
    gold = [(d.id, x.technique, x.start, x.end) for d in docs for x in d.tc]
    return Labelled(keys, pairs[:, 0] * pairs[:, 1], overlaps_gold(keys, gold), pairs)


def fit_platt(raw: np.ndarray, right: np.ndarray, l2: float = 1e-3) -> tuple[float, float]:
    """``(slope, intercept)`` maximising the likelihood of ``right`` under sigmoid(slope * logit(raw) +
    intercept) (Newton's method; a tiny ridge keeps it finite when the labels are separable or every raw
    score is the same)."""
    r = np.clip(raw, 1e-6, 1 - 1e-6)
    x = np.c_[np.log(r / (1 - r)), np.ones(len(r))]
    y = right.astype(np.float64)
    w = np.array([1.0, 0.0])
    ridge = np.diag([l2, l2])
    for _ in range(100):
        p = 1 / (1 + np.exp(-np.clip(x @ w, -30, 30)))
        step = np.linalg.solve((x * (p * (1 - p))[:, None]).T @ x + ridge, x.T @ (p - y) + ridge @ w)
        w -= step
        if np.abs(step).max() < 1e-10:
            break
    return float(w[0]), float(w[1])


def cross_validated(lab: Labelled, folds: int = 5) -> np.ndarray:
    """Each label's calibrated confidence from a map fitted on the other articles (articles dealt round-robin
    into ``folds`` folds by sorted id): an out-of-sample view of the fit on a small fold."""
    ids = sorted({k[0] for k in lab.keys})
    fold_of = {aid: i % folds for i, aid in enumerate(ids)}
    which = np.array([fold_of[k[0]] for k in lab.keys])
    out = np.zeros(len(lab.raw))
    for f in range(folds):
        test = which == f
        train = ~test
        if test.any() and lab.right[train].any() and not lab.right[train].all():
            out[test] = calibrate(lab.raw[test], *fit_platt(lab.raw[train], lab.right[train]))
        else:
            out[test] = lab.raw[test]
    return out


def reliability(conf: np.ndarray, right: np.ndarray, bins: int = BINS) -> list[dict]:
    """Rows of a reliability table: for each confidence bin with labels in it, how many, their mean
    confidence and the share that is right."""
    rows = []
    for b in range(bins):
        lo, hi = b / bins, (b + 1) / bins
        m = (conf >= lo) & ((conf < hi) | (b == bins - 1))
        if m.any():
            rows.append({"bin": f"{lo:.1f}-{hi:.1f}", "n": int(m.sum()),
                         "confidence": round(float(conf[m].mean()), 4),
                         "right": round(float(right[m].mean()), 4)})
    return rows


def expected_calibration_error(conf: np.ndarray, right: np.ndarray, bins: int = BINS) -> float:
    """Mean |confidence - share right| over equal-width confidence bins, weighted by their label counts."""
    n = len(conf)
    rows = reliability(conf, right, bins)
    return sum(r["n"] / n * abs(r["confidence"] - r["right"]) for r in rows) if n else 0.0


def span_confidence_calibration(preds: Sequence[Sequence[SpanPrediction]], docs: Sequence[PtcDocument]
                                ) -> tuple[float, list[dict]]:
    """Expected calibration error and reliability table of the reported span confidences on labelled docs."""
    keys = [(d.id, p.start, p.end, p.technique) for d, ps in zip(docs, preds, strict=True) for p in ps]
    conf = np.array([p.confidence for ps in preds for p in ps], dtype=np.float64)
    right = overlaps_gold(keys, [(d.id, x.technique, x.start, x.end) for d in docs for x in d.tc])
    return expected_calibration_error(conf, right), reliability(conf, right)


def si_f1_at(lab: Labelled, conf: np.ndarray, docs: Sequence[PtcDocument], threshold: float) -> float:
    """SI F1 on ``docs`` when only the labels with confidence >= ``threshold`` are reported."""
    pred = sorted({(aid, s, e) for (aid, s, e, _t), c in zip(lab.keys, conf, strict=True) if c >= threshold})
    return score_si(pred, [(d.id, s, e) for d in docs for s, e in d.si]).f1


def choose_threshold(lab: Labelled, conf: np.ndarray, docs: Sequence[PtcDocument]) -> tuple[float, dict]:
    """The highest point of ``THRESHOLDS`` whose SI F1 on ``docs`` is at least that of reporting every label,
    and the SI F1 at each point."""
    f1 = {t: round(si_f1_at(lab, conf, docs, t), 4) for t in THRESHOLDS}
    best = max(t for t in THRESHOLDS if f1[t] >= f1[0.0])
    return best, f1


def pooled(parts: Sequence[Labelled]) -> Labelled:
    """The labels of several models' held-out folds as one set."""
    return Labelled([k for p in parts for k in p.keys], np.concatenate([p.raw for p in parts]),
                    np.concatenate([p.right for p in parts]),
                    np.concatenate([p.parts.reshape(-1, 2) for p in parts if p.parts is not None]))


def calibrate_core(core: DetectorCore, docs: Sequence[PtcDocument], log: Callable[[str], None] = print, *,
                   folds: Sequence[tuple[DetectorCore, Sequence[PtcDocument]]] = ()) -> dict:
    """Fit ``core.config``'s confidence map and decision threshold on held-out ``docs``; the fitting record
    (empty, and the config unchanged, when the labels there are all right or all wrong).

    ``folds``: more (model, its held-out articles) pairs, models trained the same way with other folds held
    out (cross-fitting). They decode with ``core.config`` and their labels join the fit."""
    for c, _ in folds:
        c.config = core.config
    lab = pooled([labelled_predictions(c, ds) for c, ds in [(core, docs), *folds]])
    docs = [*docs, *(d for _, ds in folds for d in ds)]
    if not len(lab.raw) or lab.right.all() or not lab.right.any():
        log(f"confidences left uncalibrated: the {len(lab.raw)} labels on {len(docs)} held-out articles are "
            "not both right and wrong")
        return {}
    slope, intercept = fit_platt(lab.raw, lab.right)
    conf = np.asarray(calibrate(lab.raw, slope, intercept))
    threshold, f1 = choose_threshold(lab, conf, docs)
    cfg = core.config
    cfg.confidence_slope, cfg.confidence_intercept = round(slope, 4), round(intercept, 4)
    cfg.min_confidence = threshold
    kept = int((conf >= threshold).sum())
    record = {
        "definition": DEFINITION, "method": "Platt scaling of logit(P(span) x P(technique))",
        "slope": cfg.confidence_slope, "intercept": cfg.confidence_intercept, "decision_threshold": threshold,
        "tune_articles": len(docs), "tune_labels": len(lab.raw),
        "tune_right": round(float(lab.right.mean()), 4),
        "tune_ece_raw": round(expected_calibration_error(lab.raw, lab.right), 4),
        "tune_ece": round(expected_calibration_error(conf, lab.right), 4),
        "tune_ece_cross_validated": round(expected_calibration_error(cross_validated(lab), lab.right), 4),
        "tune_si_f1_by_threshold": {f"{t:.2f}": v for t, v in f1.items()},
        "tune_labels_kept": kept,
    }
    where = f"{len(docs)} held-out train articles" + (" of cross-fitted models" if folds else "")
    log(f"calibrated on {where} ({len(lab.raw)} labels, {lab.right.mean():.1%} "
        f"right): slope {slope:.4f}, intercept {intercept:.4f}; calibration error "
        f"{record['tune_ece_raw']:.3f} -> {record['tune_ece']:.3f} in-sample, "
        f"{record['tune_ece_cross_validated']:.3f} cross-validated over articles; decision threshold "
        f"{threshold:.2f} keeps {kept} labels, "
        f"SI F1 {f1[threshold]:.4f} (all: {f1[0.0]:.4f})")
    return record


def calibrate_model(model_dir: Path, data: Path, log: Callable[[str], None] = print, *, strict: bool = True,
                    folds: Sequence[Path] = ()) -> dict:
    """Calibrate a model folder's confidences on its own held-out train fold (and those of the cross-fitted
    models ``folds``) and rewrite its config.json; when the folds cannot calibrate it, raise ValueError
    (``strict``) or leave the folder as it is."""
    from .detect.onnx import OnnxDetector
    from .tune import fold_models

    meta_path = Path(model_dir) / "config.json"
    meta = json.loads(meta_path.read_text())
    own, pairs, fold_record = fold_models(meta, Path(model_dir), Path(data), folds)
    det = OnnxDetector(model_dir)
    record = calibrate_core(det.core, own, log, folds=pairs)
    if not record:
        if strict:
            raise ValueError(f"{model_dir}: its held-out train fold cannot calibrate it")
        return record
    if fold_record:
        record["definition"] = DEFINITION.replace("the model's held-out train fold",
                                                  "the held-out train folds of cross-fitted models")
        record["method"] += f", fitted on the held-out folds of {len(fold_record) + 1} cross-fitted models"
        record["fold_models"] = fold_record
    meta["decode"] = det.core.config.to_dict()
    meta["calibration"] = record
    meta_path.write_text(json.dumps(meta, indent=2) + "\n")
    return record
