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
LEXICAL_WEIGHTS = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5]
REPETITION_EARLIER = [0.0, 1.0, 2.0, 3.0, 4.0]
REPETITION_LATER = [0.0, -1.0, -2.0]
REPETITION_SINGLE = [0.0, -1.0, -2.0, -4.0]


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
    for d, (enc, h) in zip(docs, states, strict=True):
        if d.tc:  # the encoder head's own logits: the temperature applies before any mixing
            raw, _, _ = core.span_parts(d.text, enc, h, [(x.start, x.end) for x in d.tc])
            logits.append(raw)
            targets.extend(core.techniques.index(x.technique) for x in d.tc)
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
    tc = tune_tc_combination(core, docs, states)
    result = {"si_threshold": cfg.si_threshold, "max_gap": cfg.max_gap, "min_tokens": cfg.min_tokens,
              "tc_temperature": cfg.tc_temperature, "tune_si_f1": round(best[0], 4), **tc,
              "tune_articles": len(docs)}
    log(f"tuned on {len(docs)} held-out train articles: SI threshold {cfg.si_threshold}, gap {cfg.max_gap}, "
        f"min tokens {cfg.min_tokens} (SI F1 {best[0]:.3f}); TC temperature {cfg.tc_temperature}, "
        f"lexical weight {cfg.lexical_weight}, Repetition prior {cfg.repetition_earlier}/"
        f"{cfg.repetition_later}/{cfg.repetition_single} (TC micro-F1 {tc['tune_tc_f1_before']:.3f} -> "
        f"{tc['tune_tc_f1']:.3f})")
    return result


def tc_matched(probs: np.ndarray, golds: Sequence[Sequence[int]]) -> int:
    """Gold labels matched when each span group gets its top-k techniques (k = its number of gold rows)."""
    matched = 0
    for p, gold in zip(probs, golds, strict=True):
        top = list(np.argsort(-p)[: len(gold)])
        for g in gold:
            if g in top:
                top.remove(g)
                matched += 1
    return matched


def tune_tc_combination(core: DetectorCore, docs: Sequence[PtcDocument], states) -> dict:
    """Grid-search the lexical classifier's weight and the Repetition prior for the best TC micro-F1."""
    cfg = core.config
    parts, golds = [], []
    for d, (enc, h) in zip(docs, states, strict=True):
        groups = d.tc_groups()
        if groups:
            parts.append(core.span_parts(d.text, enc, h, list(groups)))
            golds.extend([core.techniques.index(t) for t in techs] for techs in groups.values())
    n_gold = sum(map(len, golds)) or 1

    def f1() -> float:
        return tc_matched(np.concatenate([core.combine(*p) for p in parts]), golds) / n_gold

    weights = LEXICAL_WEIGHTS if core.lexical is not None else [0.0]
    names = ("lexical_weight", "repetition_earlier", "repetition_later", "repetition_single")
    for name in names:
        setattr(cfg, name, 0.0)
    before = f1() if parts else 0.0
    best = (before, (0.0, 0.0, 0.0, 0.0))
    if parts:
        for combo in itertools.product(weights, REPETITION_EARLIER, REPETITION_LATER, REPETITION_SINGLE):
            for name, v in zip(names, combo, strict=True):
                setattr(cfg, name, v)
            f = f1()
            if f > best[0] + 1e-9:
                best = (f, combo)
    for name, v in zip(names, best[1], strict=True):
        setattr(cfg, name, v)
    return {**dict(zip(names, best[1], strict=True)), "tune_tc_f1_before": round(before, 4),
            "tune_tc_f1": round(best[0], 4)}


def held_out_fold(meta: dict, data: Path, model_dir: Path) -> list[PtcDocument]:
    """The held-out fold of PTC train (``data``/train) that the model in ``model_dir`` (its config.json
    ``meta``) was not trained on, rebuilt from its training seed and checked against its ``tune_ids``."""
    tr = meta.get("training", {})
    split_seed = tr.get("split_seed")
    split_seed = int(tr.get("seed", 13)) if split_seed is None else int(split_seed)
    tune, _ = split_train(load_split(Path(data) / "train"), split_seed,
                          float(tr.get("tune_fraction", 0.1)), tr.get("max_train_articles"))
    if "tune_ids" in meta and sorted(meta["tune_ids"]) != sorted(d.id for d in tune):
        raise ValueError(f"{model_dir}: the held-out fold rebuilt from the seed is not the recorded one")
    return tune


def retune_model(model_dir: Path, data: Path, log: Callable[[str], None] = print) -> dict:
    """Re-tune a model folder's decoding on its own held-out train fold and rewrite its config.json."""
    from .detect.onnx import OnnxDetector

    meta_path = Path(model_dir) / "config.json"
    meta = json.loads(meta_path.read_text())
    tune = held_out_fold(meta, Path(data), Path(model_dir))
    det = OnnxDetector(model_dir)
    result = tune_decoding(det.core, tune, log)
    meta["decode"] = det.core.config.to_dict()
    meta["tuning"] = result
    meta_path.write_text(json.dumps(meta, indent=2) + "\n")
    return result
