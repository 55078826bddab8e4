"""Time full analysis under several detector settings, alternately on the same articles: each encoder
variant of a model folder (one made by ``python -m propscope_train.variants``, say), or onnxruntime's idle
worker threads spinning against sleeping (the shipped detector lets them sleep unless $PROPSCOPE_SPIN=1).

    python benchmarks/compare_variants.py /tmp/default-fp32 ../shared/data/ptc/dev --articles 10
    python benchmarks/compare_variants.py default ../shared/data/ptc/dev --spinning
"""

from __future__ import annotations

import argparse
import os
import time

from propscope.detect.base import resolve_model
from propscope.detect.cpu import cpu_info
from propscope.detect.onnx import VARIANT_ENV, OnnxDetector
from propscope.pipeline import analyze_articles
from propscope.ptc import read_articles
from propscope.read import article_from_text


def _load(model, threads: int, env: dict[str, str]) -> OnnxDetector:
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        return OnnxDetector(model, threads=threads)
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model", help="a model folder or a shipped model's name")
    ap.add_argument("data")
    ap.add_argument("--spinning", action="store_true", help="compare spinning and sleeping worker threads")
    ap.add_argument("--articles", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    model = resolve_model(args.model)
    texts = list(read_articles(args.data).items())[: args.articles]
    arts = [article_from_text(t, id=i, clean=False) for i, t in texts]
    first = _load(model, args.threads, {})
    print(f"{cpu_info().describe()}: the loader picks {first.variant}")
    if args.spinning:
        settings = {"spinning": {"PROPSCOPE_SPIN": "1"}, "sleeping": {"PROPSCOPE_SPIN": "0"}}
    else:
        settings = {name: {VARIANT_ENV: name} for name in first.variants}
    dets = {name: _load(model, args.threads, env) for name, env in settings.items()}
    for det in dets.values():
        analyze_articles(arts[:2], det)  # warm-up
    for r in range(args.rounds):
        for name, det in dets.items():
            t = time.perf_counter()
            analyze_articles(arts, det)
            rate = len(arts) / (time.perf_counter() - t)
            print(f"round {r + 1}, {name}: {rate:.2f} articles/s", flush=True)


if __name__ == "__main__":
    main()
