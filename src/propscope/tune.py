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


class FoldError(ValueError):
    """A held-out fold that the split does not have."""


def split_train(
    docs: Sequence[PtcDocument], seed: int, fraction: float, limit: int | None = None, fold: int = 0
) -> tuple[list[PtcDocument], list[PtcDocument]]:
    """(tune fold, fit fold) of PTC train: shuffled with ``seed`` and cut into folds of ``fraction`` of the
    articles each (any remainder always fits); fold ``fold`` is held out (0: the first)."""
    docs = sorted(docs, key=lambda d: d.id)
    rng = random.Random(seed)
    rng.shuffle(docs)
    if limit:
        docs = docs[:limit]
    n = 0
    if len(docs) > 4 and fraction:
        n = max(1, round(len(docs) * fraction))
    n_folds = len(docs) // n if n else 1
    if not 0 <= fold < n_folds:
        raise FoldError(f"fold {fold} does not exist: {len(docs)} articles in folds of {n} give folds 0 to "
                         f"{n_folds - 1}")
    return docs[fold * n:(fold + 1) * n], docs[:fold * n] + docs[(fold + 1) * n:]


Fold = tuple[DetectorCore, Sequence[PtcDocument]]


def tune_decoding(
    core: DetectorCore, docs: Sequence[PtcDocument], log: Callable[[str], None] = print, *,
    folds: Sequence[Fold] = (),
) -> dict:
    """Set ``core.config``'s SI decoding (grid search, best SI F1) and TC temperature (least NLL).

    ``folds``: more (model, its held-out articles) pairs, models trained the same way with other folds held
    out (cross-fitting). They take ``core.config`` as theirs, and the settings are chosen on all the held-out
    articles together, so that they rest on more articles than one fold."""
    cfg = core.config
    pairs = [(core, list(docs)), *((c, list(d)) for c, d in folds)]
    for c, _ in pairs:
        c.config = cfg
    states = [c.hidden_states([d.text for d in ds]) for c, ds in pairs]
    gold = [(d.id, s, e) for _, ds in pairs for d in ds for s, e in d.si]
    best = (-1.0, (cfg.si_threshold, cfg.max_gap, cfg.min_tokens))
    for th, gap, mt in itertools.product(THRESHOLDS, GAPS, MIN_TOKENS):
        cfg.si_threshold, cfg.max_gap, cfg.min_tokens = th, gap, mt
        pred = [(d.id, s, e) for (c, ds), st in zip(pairs, states, strict=True)
                for d, (enc, h) in zip(ds, st, strict=True) for s, e, _ in c.identify(d.text, enc, h)]
        f = score_si(pred, gold).f1
        if f > best[0]:
            best = (f, (th, gap, mt))
    cfg.si_threshold, cfg.max_gap, cfg.min_tokens = best[1]
    logits, targets = [], []
    for (c, ds), st in zip(pairs, states, strict=True):
        for d, (enc, h) in zip(ds, st, strict=True):
            if d.tc:  # the encoder head's own logits: the temperature applies before any mixing
                raw, _, _ = c.span_parts(d.text, enc, h, [(x.start, x.end) for x in d.tc])
                logits.append(raw)
                targets.extend(c.techniques.index(x.technique) for x in d.tc)
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
    tc = tune_tc_combination(pairs, states)
    n_docs = sum(len(ds) for _, ds in pairs)
    result = {"si_threshold": cfg.si_threshold, "max_gap": cfg.max_gap, "min_tokens": cfg.min_tokens,
              "tc_temperature": cfg.tc_temperature, "tune_si_f1": round(best[0], 4), **tc,
              "tune_articles": n_docs}
    where = f"{n_docs} held-out train articles" + (f" of {len(pairs)} cross-fitted models" if folds else "")
    log(f"tuned on {where}: SI threshold {cfg.si_threshold}, gap {cfg.max_gap}, "
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


def tune_tc_combination(pairs: Sequence[Fold], states: Sequence) -> dict:
    """Grid-search the lexical classifier's weight and the Repetition prior for the best TC micro-F1 over
    the (model, articles) ``pairs`` (which share one config) and their hidden ``states``."""
    cfg = pairs[0][0].config
    parts, golds = [], []
    for (c, ds), st in zip(pairs, states, strict=True):
        for d, (enc, h) in zip(ds, st, strict=True):
            groups = d.tc_groups()
            if groups:
                parts.append((c, c.span_parts(d.text, enc, h, list(groups))))
                golds.extend([c.techniques.index(t) for t in techs] for techs in groups.values())
    n_gold = sum(map(len, golds)) or 1

    def f1() -> float:
        return tc_matched(np.concatenate([c.combine(*p) for c, p in parts]), golds) / n_gold

    weights = LEXICAL_WEIGHTS if all(c.lexical is not None for c, _ in pairs) else [0.0]
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


def model_split(meta: dict, train: Sequence[PtcDocument]) -> tuple[list[PtcDocument], list[PtcDocument]]:
    """(held-out fold, fit articles) of PTC train as the model with config.json ``meta`` was trained on
    them: its split seed (default: its seed), fraction, article limit and fold."""
    tr = meta.get("training", {})
    split_seed = tr.get("split_seed")
    split_seed = int(tr.get("seed", 13)) if split_seed is None else int(split_seed)
    return split_train(train, split_seed, float(tr.get("tune_fraction", 0.1)), tr.get("max_train_articles"),
                       int(tr.get("fold", 0)))


def held_out_fold(meta: dict, data: Path, model_dir: Path, train: Sequence[PtcDocument] | None = None
                  ) -> list[PtcDocument]:
    """The held-out fold of PTC train (``data``/train, or the already read ``train``) that the model in
    ``model_dir`` (its config.json ``meta``) was not trained on, rebuilt from its training seed and checked
    against its ``tune_ids``."""
    tune, _ = model_split(meta, load_split(Path(data) / "train") if train is None else train)
    if "tune_ids" in meta and sorted(meta["tune_ids"]) != sorted(d.id for d in tune):
        raise ValueError(f"{model_dir}: the held-out fold rebuilt from the seed is not the recorded one")
    return tune


# training settings that may differ between the cross-fitted models of one recipe
_RUN_ONLY = {"out", "checkpoint", "fold", "resume", "stop_after_minutes", "stop_after_steps", "save_every",
             "export", "eval_epochs", "threads", "device", "cache_dir", "teacher_cache"}


def fold_models(meta: dict, model_dir: Path, data: Path, others: Sequence[Path]
                ) -> tuple[list[PtcDocument], list[Fold], list[dict]]:
    """The held-out fold of the model in ``model_dir`` (its config.json ``meta``), then the cross-fitted
    models ``others`` (trained like it, with other folds held out), each with its held-out fold, and a
    record of them. Raises ValueError when one was trained another way or holds out articles that another of
    them (or the model) holds out."""
    from .detect.onnx import OnnxDetector

    train = load_split(Path(data) / "train")
    own = held_out_fold(meta, Path(data), Path(model_dir), train)
    seen = {d.id for d in own}
    recipe = {k: v for k, v in meta.get("training", {}).items() if k not in _RUN_ONLY}
    pairs, record = [], []
    for other in others:
        other = Path(other)
        path = other / "config.json"
        if not path.is_file():
            raise ValueError(f"{other}: not a model folder (no config.json)")
        m = json.loads(path.read_text())
        theirs = {k: v for k, v in m.get("training", {}).items() if k not in _RUN_ONLY}
        diff = sorted(k for k in recipe.keys() | theirs.keys() if recipe.get(k) != theirs.get(k))
        if diff:
            raise ValueError(f"{other}: trained another way than {model_dir} ({', '.join(diff)} differ): "
                             "cross-fitted models must share the recipe and differ only in --fold")
        docs = held_out_fold(m, Path(data), other, train)
        ids = {d.id for d in docs}
        if ids & seen:
            raise ValueError(f"{other}: its held-out fold overlaps another model's: train each with its own "
                             "--fold")
        seen |= ids
        pairs.append((OnnxDetector(other).core, docs))
        record.append({"model": str(other), "fold": int(m.get("training", {}).get("fold", 0)),
                       "articles": len(docs)})
    return own, pairs, record


def retune_model(model_dir: Path, data: Path, log: Callable[[str], None] = print, *,
                 folds: Sequence[Path] = ()) -> dict:
    """Re-tune a model folder's decoding on its own held-out train fold (and those of the cross-fitted
    models ``folds``) and rewrite its config.json."""
    from .detect.onnx import OnnxDetector

    meta_path = Path(model_dir) / "config.json"
    meta = json.loads(meta_path.read_text())
    tune, pairs, record = fold_models(meta, Path(model_dir), Path(data), folds)
    det = OnnxDetector(model_dir)
    result = tune_decoding(det.core, tune, log, folds=pairs)
    if record:
        result["fold_models"] = record
    meta["decode"] = det.core.config.to_dict()
    meta["tuning"] = result
    meta_path.write_text(json.dumps(meta, indent=2) + "\n")
    return result
