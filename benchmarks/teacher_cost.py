"""What training the MPNet teacher with frozen, cached lower layers would cost on this CPU: PTC train's size
in tokens and windows, measured seconds per 1,000 tokens, and the projected wall time of the recipe.

    python benchmarks/teacher_cost.py --data ../shared/data/ptc [--freeze 8 10] [--epochs 3] [--reps 3]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
import torch

from propscope.ptc import load_split
from propscope.techniques import TECHNIQUES
from propscope.tune import split_train
from propscope_train.data import build_examples
from propscope_train.loop import _collate, default_base_model, load_tokenizer, special_ids
from propscope_train.model import PropagandaModel
from propscope_train.teacher import mpnet_path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path("../shared/data/ptc"))
    ap.add_argument("--freeze", type=int, nargs="+", default=[8, 10], help="frozen lower layers (K)")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--batch", type=int, default=16, help="windows per step (the default recipe's)")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--json", type=Path, default=None, help="also write the figures here")
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    load0 = os.getloadavg()
    mp = mpnet_path()
    tok = load_tokenizer(mp)
    train = load_split(a.data / "train")
    tune, fit = split_train(train, 13, 0.1)
    n_tokens = sum(len(e.ids) for e in tok.encode_batch([d.text for d in train], add_special_tokens=False))
    examples, _ = build_examples(fit, tok, TECHNIQUES, window=254, stride=192, special_ids=special_ids(tok))
    positions = sum(len(x.ids) for x in examples)
    n_fit = sum(len(e.ids) for e in tok.encode_batch([d.text for d in fit], add_special_tokens=False))
    n_tune = sum(len(e.ids) for e in tok.encode_batch([d.text for d in tune], add_special_tokens=False))
    dev = load_split(a.data / "dev") if (a.data / "dev").is_dir() else []
    n_dev = sum(len(e.ids) for e in tok.encode_batch([d.text for d in dev], add_special_tokens=False))
    steps_per_epoch = -(-len(examples) // a.batch)
    print(f"PTC train: {len(train)} articles, {n_tokens} word pieces; fit fold {len(fit)} articles -> "
          f"{len(examples)} windows of <=256, {positions} positions ({positions / 1000:.0f}k, "
          f"{steps_per_epoch} steps of {a.batch}); tune fold {n_tune} and dev {n_dev} word pieces")

    # a full batch of the longest windows, as training sees them
    batch = sorted(examples, key=lambda x: -len(x.ids))[: a.batch]
    ids, mask, labels, _ = _collate(batch)
    btok = int(mask.sum())
    res: dict = {"threads": torch.get_num_threads(), "load_before": load0, "train_articles": len(train),
                 "train_word_pieces": n_tokens, "fit_windows": len(examples), "fit_positions": positions,
                 "tune_word_pieces": n_tune, "dev_word_pieces": n_dev, "batch_tokens": btok, "k": {}}
    model = PropagandaModel(mp, n_techniques=len(TECHNIQUES))
    model.freeze_lower(min(a.freeze))
    mini = PropagandaModel(default_base_model(), n_techniques=len(TECHNIQUES)).train()
    mini_opt = torch.optim.AdamW(mini.parameters(), lr=1e-5)
    mids = ids.clone()  # the same word pieces: MiniLM's ids are MPNet's minus 4 (specials aside)
    mids[mask.bool()] -= 4
    mids[:, 0] = 101
    mids[torch.arange(len(batch)), mask.sum(1) - 1] = 102
    scored = labels >= 0

    def forward() -> None:
        model.eval()
        with torch.inference_mode():
            model.hidden(ids, mask)

    def mini_step() -> None:
        h = mini.hidden(mids, mask)
        torch.nn.functional.cross_entropy(mini.si_logits(h)[scored], labels[scored]).backward()
        mini_opt.step()
        mini_opt.zero_grad(set_to_none=True)

    def lower(k: int) -> None:
        model.eval()
        with torch.inference_mode():
            model.lower(ids, mask, k)

    with torch.inference_mode():
        lows = {k: model.lower(ids, mask, k).to(torch.float16) for k in a.freeze}  # as the fp16 cache holds
    heads = [p for n, p in model.named_parameters() if not n.startswith("encoder.")]
    opts = {k: torch.optim.AdamW([*model.encoder.encoder.layer[k:].parameters(), *heads], lr=1e-5)
            for k in a.freeze}

    def step(k: int) -> None:
        model.train()
        h = model.upper(lows[k].float(), mask, k)
        torch.nn.functional.cross_entropy(model.si_logits(h)[scored], labels[scored]).backward()
        opts[k].step()
        opts[k].zero_grad(set_to_none=True)

    jobs = {"mpnet_forward": forward, "minilm_full_step": mini_step,
            **{f"lower_{k}": (lambda k=k: lower(k)) for k in a.freeze},
            **{f"upper_step_{k}": (lambda k=k: step(k)) for k in a.freeze}}
    # interleaved rounds, so that the machine's changing load falls on every figure alike
    times: dict[str, list[float]] = {name: [] for name in jobs}
    for r in range(a.reps + 1):
        for name, fn in jobs.items():
            t = time.perf_counter()
            fn()
            if r:  # round 0 warms up
                times[name].append(time.perf_counter() - t)
    per1k = {name: float(np.median(v)) / btok * 1000 for name, v in times.items()}
    full, mini_s = per1k["mpnet_forward"], per1k["minilm_full_step"]
    res["mpnet_forward_s_per_1k"], res["minilm_full_step_s_per_1k"] = full, mini_s
    print(f"MPNet forward (12 layers, inference): {full:.2f} s / 1,000 tokens")
    print(f"MiniLM-L6 training step, all layers (reference): {mini_s:.2f} s / 1,000 tokens; the default "
          f"recipe's 6 epochs: {6 * positions / 1000 * mini_s / 60:.0f} min of steps at this speed")
    overlap = positions / n_fit
    for k in a.freeze:
        lower_s, step_s = per1k[f"lower_{k}"], per1k[f"upper_step_{k}"]
        cache_min = positions / 1000 * lower_s / 60
        train_min = a.epochs * positions / 1000 * step_s / 60
        # after training: tuning runs the whole model over the tune fold (twice when the weight average is a
        # candidate), then dev is scored once; no dev scores per epoch (--no-evaluate-epochs)
        eval_min = (2 * n_tune + n_dev) * overlap / 1000 * full / 60
        total = cache_min + train_min + eval_min
        trained = sum(p.numel() for p in model.encoder.encoder.layer[k:].parameters()) + sum(
            p.numel() for p in heads)
        res["k"][k] = {"lower_forward_s_per_1k": lower_s, "upper_step_s_per_1k": step_s,
                       "cache_minutes": cache_min, "train_minutes": train_min, "eval_minutes": eval_min,
                       "total_minutes": total, "cache_mib": positions * 768 * 2 / 2**20,
                       "trained_params_m": trained / 1e6}
        print(f"K={k} frozen: lower forward {lower_s:.2f} s / 1k tokens, top {12 - k} layers + heads "
              f"training step {step_s:.2f} s / 1k tokens ({trained / 1e6:.1f} M trained weights); "
              f"recipe ({a.epochs} epochs): cache {cache_min:.0f} min ({res['k'][k]['cache_mib']:.0f} MiB) + "
              f"training {train_min:.0f} min + tuning and dev {eval_min:.0f} min = {total:.0f} min "
              f"({total / 60:.1f} h)")
    res["load_after"] = os.getloadavg()
    print(f"threads {res['threads']}; load average before {load0[0]:.1f}, after {res['load_after'][0]:.1f} "
          f"on {os.cpu_count()} cores")
    if a.json:
        a.json.write_text(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
