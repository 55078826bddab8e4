"""Train several runs of one recipe side by side (one GPU or CPU), then measure what combining them gives:
each run alone, their weight average (soup), their logit-averaging ensemble, and students distilled from the
ensemble. All runs hold out the same train fold (``--split-seed``), every decoding setting is tuned on that
fold, and dev is only scored.

    python -m propscope_train.sweep --data ../shared/data/ptc --work runs/sweep --seeds 21-28 \\
        --students "l6:distill_weight=0.5;l3:layers=3,distill_weight=0.5" --keep runs/sweep/keep

prints one table row per model and writes ``summary.json``; ``--keep DIR`` saves the weights (fp16) of the
best model of each ``--keep-depths`` depth by held-out-fold SI F1 + TC micro-F1.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from dataclasses import fields
from pathlib import Path


def _parse_seeds(text: str) -> list[int]:
    out: list[int] = []
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        out.extend(range(int(lo), int(hi or lo) + 1))
    return out


def _parse_variants(text: str) -> list[tuple[str, dict]]:
    """``"lr2:lr=2e-4;long:epochs=10,average_from=7"`` -> [("lr2_", {"lr": 0.0002}), ...]; none given:
    [("", {})]."""
    from .loop import TrainConfig

    settings = {f.name for f in fields(TrainConfig)}
    out = []
    for part in filter(None, (x.strip() for x in text.split(";"))):
        name, _, body = part.partition(":")
        changes: dict = {}
        for pair in filter(None, body.split(",")):
            key, _, value = pair.partition("=")
            if key not in settings:
                raise SystemExit(f"--variants: {key!r} is not a training setting")
            changes[key] = json.loads(value)
        out.append((f"{name}_", changes))
    return out or [("", {})]


def _half(state: dict) -> dict:
    """Floating-point tensors as fp16 (half the bytes to save or fetch), others as they are."""
    return {k: v.half() if v.is_floating_point() else v for k, v in state.items()}


def _one(spec_json: str) -> None:
    """Train one run from a JSON TrainConfig (run in a subprocess by the sweep)."""
    from .loop import TrainConfig, train

    spec = json.loads(spec_json)
    names = {f.name for f in fields(TrainConfig)}
    cfg = TrainConfig(**{k: v for k, v in spec.items() if k in names})
    cfg.data, cfg.out = Path(cfg.data), Path(cfg.out)
    cfg.checkpoint = Path(cfg.checkpoint) if cfg.checkpoint else None
    cfg.teachers = [Path(t) for t in cfg.teachers]
    train(cfg)


def _launch(specs: list[dict], work: Path, parallel: int, threads: int) -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": str(threads)}
    pending, running = list(specs), []
    while pending or running:
        while pending and len(running) < parallel:
            spec = pending.pop(0)
            log = open(work / f"{spec['name']}.log", "w")  # noqa: SIM115 - closed when the run ends
            cmd = [sys.executable, "-m", "propscope_train.sweep", "one", json.dumps(spec)]
            running.append((spec, subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env), log))
        time.sleep(2)
        for item in list(running):
            spec, proc, log = item
            if proc.poll() is not None:
                log.close()
                running.remove(item)
                status = "done" if proc.returncode == 0 else f"FAILED (exit {proc.returncode})"
                print(f"[{time.strftime('%H:%M:%S')}] {spec['name']}: {status}", flush=True)


def _score_core(core, tune_docs, dev_docs) -> dict:
    from propscope.evaluate import evaluate_docs
    from propscope.tune import tune_decoding

    tuning = tune_decoding(core, tune_docs, log=lambda _m: None)
    ev = evaluate_docs(core, dev_docs)
    return {"tune_si_f1": tuning["tune_si_f1"], "tune_tc_f1": tuning["tune_tc_f1"],
            "dev_si_p": round(ev.si.precision, 4), "dev_si_r": round(ev.si.recall, 4),
            "dev_si_f1": round(ev.si.f1, 4), "dev_tc_f1": round(ev.tc.micro_f1, 4),
            "decode": core.config.to_dict()}


def _folds(args):
    from propscope.ptc import load_split
    from propscope.tune import split_train

    tune_docs, _ = split_train(load_split(args.data / "train"), args.split_seed, args.tune_fraction)
    return tune_docs, load_split(args.data / "dev")


def _soup(paths: list[Path], out: Path, base: Path, tok, device, window: int, stride: int, folds) -> dict:
    """Average the checkpoints into ``out`` (fp16) and score the result."""
    import torch

    from propscope.detect.core import DetectorConfig

    from .ensemble import soup_state
    from .loop import load_checkpoint, make_core

    torch.save(_half(soup_state(paths)), out)
    soup = load_checkpoint(out, base, device)
    core = make_core(soup, tok, DetectorConfig(window=window, stride=stride))
    res = {"layers": soup.encoder.config.num_hidden_layers} | _score_core(core, *folds)
    print(f"{out.stem} (mean of {len(paths)}): {res}", flush=True)
    return res


def _combine(args, names: list[str], work: Path, base: Path, tok, device, folds) -> dict[str, dict]:
    """Soup and (unless --no-ensemble) ensemble of the finished runs, scored like the runs themselves."""
    from propscope.detect.core import DetectorConfig, DetectorCore, Heads

    from .ensemble import EnsembleEncoder, ensemble_heads
    from .loop import load_checkpoint, special_ids

    paths = [work / f"{n}.pt" for n in names]
    out = {"soup": _soup(paths, work / "soup.pt", base, tok, device, args.window, args.stride, folds)}
    if not args.no_ensemble:
        models = [load_checkpoint(p, base, device) for p in paths]
        heads = Heads(ensemble_heads([m.head_arrays() for m in models]))
        dcfg = DetectorConfig(window=args.window, stride=args.stride)
        core = DetectorCore(tok, EnsembleEncoder(models), heads, dcfg, special_ids(tok))
        out["ensemble"] = _score_core(core, *folds)
        print(f"ensemble of {len(models)}: {out['ensemble']}", flush=True)
    return out


def _run_summary(work: Path, name: str) -> dict | None:
    path = work / name / "run.json"
    if not path.exists():
        return None
    meta = json.loads(path.read_text())
    dev = meta.get("dev_torch_fp32") or {}
    si, tc = dev.get("si", {}), dev.get("tc", {})
    return {"tune_si_f1": meta["tuning"]["tune_si_f1"], "tune_tc_f1": meta["tuning"]["tune_tc_f1"],
            "dev_si_p": si.get("precision"), "dev_si_r": si.get("recall"), "dev_si_f1": si.get("f1"),
            "dev_tc_f1": tc.get("micro_f1"), "minutes": meta["train_minutes"], "weights": meta.get("weights"),
            "layers": meta["training"].get("layers"),
            "decode": meta.get("decode")}


CHUNK = 15 * 2**20


def _keep(results: dict[str, dict], work: Path, keep: Path, depths: str = "") -> None:
    """For each depth, save the best model's weights (fp16, in 15 MiB parts: ``cat best_l6.pt.part* >
    best_l6.pt``) and the summary to ``keep``. Best: highest held-out-fold SI F1 + TC micro-F1; the
    ensemble is not one model."""
    import io

    import torch

    depth = {n: r.get("layers") or 6 for n, r in results.items() if n != "ensemble"}
    wanted = [int(d) for d in depths.split(",") if d] or [max(depth.values())]
    keep.mkdir(parents=True, exist_ok=True)
    kept = {}
    for want in wanted:
        names = [n for n in depth if depth[n] == want]
        if not names:
            continue
        best = max(names, key=lambda n: results[n]["tune_si_f1"] + results[n]["tune_tc_f1"])
        for old in keep.glob(f"best_l{want}.pt.part*"):
            old.unlink()
        state = torch.load(work / f"{best}.pt", map_location="cpu", weights_only=True)
        buf = io.BytesIO()
        torch.save(_half(state), buf)
        data = buf.getvalue()
        for i in range(0, len(data), CHUNK):
            (keep / f"best_l{want}.pt.part{i // CHUNK}").write_bytes(data[i : i + CHUNK])
        kept[want] = best
        print(f"kept {best} in {keep}", flush=True)
    (keep / "summary.json").write_text(json.dumps({"kept": kept, **results}, indent=2, default=str))


def _fmt(x) -> str:
    return f"{x:.3f}" if isinstance(x, float) else "-"


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "one":
        _one(argv[1])
        return
    ap = argparse.ArgumentParser(prog="python -m propscope_train.sweep", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--work", type=Path, required=True)
    ap.add_argument("--base-model", type=Path)
    ap.add_argument("--seeds", default="21-24", help="e.g. 21-28 or 21,23,30")
    ap.add_argument("--init-seed", type=int, default=13, help="shared initial head weights (soups need it)")
    ap.add_argument("--split-seed", type=int, default=13, help="held-out fold, shared by all runs")
    ap.add_argument("--tune-fraction", type=float, default=0.1)
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--tc-weight", type=float, default=0.5)
    ap.add_argument("--average-from", type=int, default=4)
    ap.add_argument("--window", type=int, default=254)
    ap.add_argument("--stride", type=int, default=192)
    ap.add_argument("--variants", default="",
                    help="NAME:KEY=VALUE,KEY=VALUE;NAME:... recipe variants (TrainConfig fields), each run "
                         "with every seed instead of one shared recipe (no soup or ensemble then)")
    ap.add_argument("--parallel", type=int, default=4)
    ap.add_argument("--threads", type=int, default=2, help="CPU threads per run")
    ap.add_argument("--students", default="",
                    help="NAME:KEY=VALUE,...;... students distilled from the runs' ensemble (same syntax as "
                         "--variants; distill_weight defaults to 0.5)")
    ap.add_argument("--student-seeds", default="", help="seeds for each student (default: one new seed)")
    ap.add_argument("--keep-depths", default="",
                    help="encoder depths to keep the best model of (default: the runs' depth), e.g. 2,3")
    ap.add_argument("--no-ensemble", action="store_true", help="skip scoring the runs' ensemble")
    ap.add_argument("--max-minutes", type=float, default=0.0,
                    help="skip the students when the sweep has already taken this long (0: never skip)")
    ap.add_argument("--max-steps", type=int, help="for smoke tests")
    ap.add_argument("--max-train-articles", type=int, help="for smoke tests")
    ap.add_argument("--keep", type=Path,
                    help="save the best model's weights (fp16) of each --keep-depths depth here")
    args = ap.parse_args(argv)

    from .loop import default_base_model, load_tokenizer, pick_device

    t0 = time.time()
    work = args.work
    work.mkdir(parents=True, exist_ok=True)
    base = args.base_model or default_base_model()
    common = {"data": str(args.data), "base_model": str(base), "init_seed": args.init_seed,
              "split_seed": args.split_seed, "tune_fraction": args.tune_fraction, "epochs": args.epochs,
              "lr": args.lr, "tc_weight": args.tc_weight, "average_from": args.average_from,
              "window": args.window, "stride": args.stride, "threads": args.threads, "lexical": False,
              "export": False, "eval_epochs": False, "max_steps": args.max_steps,
              "max_train_articles": args.max_train_articles}
    seeds = _parse_seeds(args.seeds)
    variants = _parse_variants(args.variants)
    runs = [{**common, **changes, "name": f"{vname}s{s}", "seed": s, "out": str(work / f"{vname}s{s}"),
             "checkpoint": str(work / f"{vname}s{s}.pt")} for vname, changes in variants for s in seeds]
    _launch(runs, work, args.parallel, args.threads)
    names = [r["name"] for r in runs if (work / f"{r['name']}.pt").exists()]
    results = {n: _run_summary(work, n) for n in names}
    tok, device, folds = load_tokenizer(base), pick_device(None), None
    if args.keep:  # saved now too, in case the rest of the sweep is cut short
        _keep(results, work, args.keep, args.keep_depths)
    if len(names) > 1 and len(variants) == 1:
        folds = _folds(args)
        results.update(_combine(args, names, work, base, tok, device, folds))
        if args.keep:
            _keep(results, work, args.keep, args.keep_depths)
    student_seeds = _parse_seeds(args.student_seeds) if args.student_seeds else [max(seeds) + 1]
    teachers = [str(work / f"{n}.pt") for n in names]
    students = []
    for vname, changes in _parse_variants(args.students) if args.students else []:
        for seed in student_seeds:
            name = f"student_{vname}s{seed}"
            students.append({**common, "distill_weight": 0.5, **changes, "name": name, "seed": seed,
                             "teachers": teachers, "out": str(work / name),
                             "checkpoint": str(work / f"{name}.pt")})
    if students and args.max_minutes and (time.time() - t0) / 60 > args.max_minutes:
        print(f"skipping the students: {(time.time() - t0) / 60:.1f} minutes already", flush=True)
        students = []
    if students:
        _launch(students, work, args.parallel, args.threads)
        by_variant: dict[str, list[dict]] = {}
        for st in students:
            if (r := _run_summary(work, st["name"])) is not None:
                results[st["name"]] = r
                by_variant.setdefault(st["name"].rsplit("_s", 1)[0], []).append(st)
        for vname, members in by_variant.items():
            if len(members) > 1:  # they share the initial heads (--init-seed), so their mean is a model
                folds = folds or _folds(args)
                results[f"{vname}_soup"] = _soup([Path(m["checkpoint"]) for m in members],
                                                 work / f"{vname}_soup.pt", base, tok, device,
                                                 members[0]["window"], members[0]["stride"], folds)
    (work / "summary.json").write_text(json.dumps(results, indent=2))
    if args.keep:
        _keep(results, work, args.keep, args.keep_depths)
    print(f"\n{'model':28} {'tune SI':>8} {'tune TC':>8} {'dev SI P':>9} {'dev SI R':>9} {'dev SI F1':>10} "
          f"{'dev TC':>7}")
    for n, r in results.items():
        print(f"{n:28} {_fmt(r['tune_si_f1']):>8} {_fmt(r['tune_tc_f1']):>8} {_fmt(r['dev_si_p']):>9} "
              f"{_fmt(r['dev_si_r']):>9} {_fmt(r['dev_si_f1']):>10} {_fmt(r['dev_tc_f1']):>7}")
    print(f"sweep took {(time.time() - t0) / 60:.1f} minutes")


if __name__ == "__main__":
    main()
