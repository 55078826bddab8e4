"""Build a complete model folder from a PyTorch checkpoint (``train --checkpoint``, or a kept sweep model):
int8 ONNX encoder, heads, tokenizer, the lexical technique classifier fitted on the same train articles, and
decoding settings tuned on the held-out fold (never dev).

    python -m propscope_train.from_checkpoint --checkpoint runs/sweep/keep/best.pt \\
        --data ../shared/data/ptc --out runs/g1 --split-seed 13 [--window 126 --stride 96]

The held-out fold is rebuilt from ``--split-seed`` (and ``--tune-fraction``): pass the values the checkpoint
was trained with, or the tuning would see articles the model was trained on.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from propscope.calibrate import calibrate_model
from propscope.detect.core import DetectorConfig
from propscope.ptc import load_split
from propscope.tune import retune_model, split_train

from .export import export_model
from .lexical import fit_lexical
from .loop import default_base_model, load_checkpoint, load_tokenizer


def build(checkpoint: Path, data: Path, out: Path, *, split_seed: int, tune_fraction: float = 0.1,
          window: int = 254, stride: int = 192, base: Path | None = None, lexical: bool = True,
          training: dict | None = None, log=print) -> dict:
    """Export, fit the lexical classifier, tune; returns the tuning result."""
    base = Path(base) if base else default_base_model()
    model = load_checkpoint(Path(checkpoint), base, torch.device("cpu"))
    layers = model.encoder.config.num_hidden_layers
    tune_docs, fit_docs = split_train(load_split(Path(data) / "train"), split_seed, tune_fraction)
    lex = fit_lexical(fit_docs, seed=split_seed) if lexical else None
    meta = {
        "name": "propscope-minilm-ptc",
        "version": time.strftime("%Y%m%d"),
        "base_model": base.name,
        "training": {**(training or {}), "split_seed": split_seed, "seed": split_seed,
                     "tune_fraction": tune_fraction, "layers": layers, "window": window, "stride": stride,
                     "checkpoint": str(checkpoint)},
        "tune_ids": sorted(d.id for d in tune_docs),
    }
    export_model(model, load_tokenizer(base), DetectorConfig(window=window, stride=stride), meta, Path(out),
                 base, lexical=lex)
    tuning = retune_model(Path(out), Path(data), log)
    calibrate_model(Path(out), Path(data), log, strict=False)  # confidences, decision threshold
    return tuning


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", type=Path, required=True)
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--split-seed", type=int, required=True)
    ap.add_argument("--tune-fraction", type=float, default=0.1)
    ap.add_argument("--window", type=int, default=254)
    ap.add_argument("--stride", type=int, default=192)
    ap.add_argument("--base-model", type=Path)
    ap.add_argument("--no-lexical", action="store_true")
    ap.add_argument("--training", type=Path, help="JSON of the run's training settings, kept in config.json")
    args = ap.parse_args()
    training = json.loads(args.training.read_text()) if args.training else None
    build(args.checkpoint, args.data, args.out, split_seed=args.split_seed, tune_fraction=args.tune_fraction,
          window=args.window, stride=args.stride, base=args.base_model, lexical=not args.no_lexical,
          training=training)


if __name__ == "__main__":
    main()
