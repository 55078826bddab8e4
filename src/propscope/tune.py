"""Tune a model's decoding settings (SI threshold, gap bridging, minimum span length, TC temperature) on
labelled articles the model was not trained on: the held-out fold of PTC train, never dev."""

from __future__ import annotations

import itertools
import json
import math
import random
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from .detect.core import DetectorCore
from .ptc import PtcDocument, load_split
from .scoring import score_si

THRESHOLDS = [round(x, 2) for x in np.arange(0.2, 0.61, 0.05)]
GAPS = [0, 2, 4, 6, 8]
MIN_TOKENS = [1, 2, 3]


def split_train(
    docs: Sequence[PtcDocument], seed: int, fraction: float, limit: int | None = None
) -> tuple[list[PtcDocument], list[PtcDocument]]:
    """(tune fold, fit fold) of PTC train: shuffled with ``seed``; the first ``fraction`` is held out."""
    docs = sorted(docs, key=lambda d: d.id)
    rng = random.Random(seed)
    rng.shuffle(docs)
    if limit:
        docs = docs[:limit]
    n = 0
    if len(docs) > 4 and fraction:
        n = max(1, round(len(docs) * fraction))
    return docs[:n], docs[n:]


def tune_decoding(
    core: DetectorCore, docs: Sequence[PtcDocument], log: Callable[[str], None] = print
) -> dict:
    """Set ``core.config``'s SI decoding (grid search, best SI F1) and TC temperature (least NLL)."""
    cfg = core.config
    states = core.hidden_states([d.text for d in docs])
    gold = [(d.id, s, e) for d in docs for s, e in d.si]
    best = (-1.0, (cfg.si_threshold, cfg.max_gap, cfg.min_tokens))
    for th, gap, mt in itertools.product(THRESHOLDS, GAPS, MIN_TOKENS):
        cfg.si_threshold, cfg.max_gap, cfg.min_tokens = th, gap, mt
        pred = [(d.id, s, e) for d, (enc, h) in zip(docs, states, strict=True)
                for s, e, _ in core.identify(d.text, enc, h)]
        f = score_si(pred, gold).f1
        if f > best[0]:
            best = (f, (th, gap, mt))
    cfg.si_threshold, cfg.max_gap, cfg.min_tokens = best[1]
    logits, targets = [], []
    saved, cfg.tc_temperature = cfg.tc_temperature, 1.0
    for d, (enc, h) in zip(docs, states, strict=True):
        if d.tc:
            p = core.span_probs(d.text, enc, h, [(x.start, x.end) for x in d.tc])
            logits.append(np.log(np.clip(p, 1e-9, 1)))
            targets.extend(core.techniques.index(x.technique) for x in d.tc)
    cfg.tc_temperature = saved
    if logits:
        lg, tg = np.concatenate(logits), np.array(targets)
        best_t, best_nll = 1.0, math.inf
        for t in np.arange(0.5, 3.01, 0.1):
            z = lg / t
            z = z - z.max(1, keepdims=True)
            nll = float(-(z[np.arange(len(tg)), tg] - np.log(np.exp(z).sum(1))).mean())
            if nll < best_nll:
                best_t, best_nll = float(t), nll
        cfg.tc_temperature = round(best_t, 2)
    result = {"si_threshold": cfg.si_threshold, "max_gap": cfg.max_gap, "min_tokens": cfg.min_tokens,
              "tc_temperature": cfg.tc_temperature, "tune_si_f1": round(best[0], 4),
              "tune_articles": len(docs)}
    log(f"tuned on {len(docs)} held-out train articles: SI threshold {cfg.si_threshold}, gap {cfg.max_gap}, "
        f"min tokens {cfg.min_tokens} (SI F1 {best[0]:.3f}); TC temperature {cfg.tc_temperature}")
    return result


def retune_model(model_dir: Path, data: Path, log: Callable[[str], None] = print) -> dict:
    """Re-tune a model folder's decoding on its own held-out train fold and rewrite its config.json."""
    from .detect.onnx import OnnxDetector

    meta_path = Path(model_dir) / "config.json"
    meta = json.loads(meta_path.read_text())
    tr = meta.get("training", {})
    tune, _ = split_train(load_split(Path(data) / "train"), int(tr.get("seed", 13)),
                          float(tr.get("tune_fraction", 0.1)), tr.get("max_train_articles"))
    if "tune_ids" in meta and sorted(meta["tune_ids"]) != sorted(d.id for d in tune):
        raise ValueError(f"{model_dir}: the held-out fold rebuilt from the seed is not the recorded one")
    det = OnnxDetector(model_dir)
    result = tune_decoding(det.core, tune, log)
    meta["decode"] = det.core.config.to_dict()
    meta["tuning"] = result
    meta_path.write_text(json.dumps(meta, indent=2) + "\n")
    return result
