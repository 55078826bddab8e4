"""Time full analysis with each encoder variant of a model folder, alternately on the same articles (for a
folder with several variants, e.g. one made by ``python -m propscope_train.variants``).

    python benchmarks/compare_variants.py /tmp/default-with-fp32 ../shared/data/ptc/dev --articles 10
"""

from __future__ import annotations

import argparse
import os
import time

from propscope.detect.cpu import cpu_info
from propscope.detect.onnx import VARIANT_ENV, OnnxDetector
from propscope.pipeline import analyze_articles
from propscope.ptc import read_articles
from propscope.read import article_from_text


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model")
    ap.add_argument("data")
    ap.add_argument("--articles", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    texts = list(read_articles(args.data).items())[: args.articles]
    arts = [article_from_text(t, id=i, clean=False) for i, t in texts]
    first = OnnxDetector(args.model, threads=args.threads)
    print(f"{cpu_info().describe()}: the loader picks {first.variant}")
    dets = {}
    for name in first.variants:
        os.environ[VARIANT_ENV] = name
        dets[name] = OnnxDetector(args.model, threads=args.threads)
    del os.environ[VARIANT_ENV]
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
