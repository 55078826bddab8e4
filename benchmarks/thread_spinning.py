"""Time full analysis with onnxruntime's idle worker threads spinning and sleeping, alternately, on the
same articles (the shipped detector lets them sleep unless $PROPSCOPE_SPIN=1).

    python benchmarks/thread_spinning.py ../shared/data/ptc/dev --articles 10 --rounds 3
"""

from __future__ import annotations

import argparse
import os
import time

from propscope.detect.base import resolve_model
from propscope.detect.onnx import OnnxDetector
from propscope.pipeline import analyze_articles
from propscope.ptc import read_articles
from propscope.read import article_from_text


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("data")
    ap.add_argument("--model", default=None)
    ap.add_argument("--articles", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    texts = list(read_articles(args.data).items())[: args.articles]
    arts = [article_from_text(t, id=i, clean=False) for i, t in texts]
    dets = {}
    for spin in ("1", "0"):
        os.environ["PROPSCOPE_SPIN"] = spin
        dets[spin] = OnnxDetector(resolve_model(args.model), threads=args.threads)
    for r in range(args.rounds):
        for spin, det in dets.items():
            t = time.perf_counter()
            analyze_articles(arts, det)
            print(f"round {r + 1}, {'spinning' if spin == '1' else 'sleeping'}: "
                  f"{time.perf_counter() - t:.2f} s for {len(arts)} articles", flush=True)


if __name__ == "__main__":
    main()
