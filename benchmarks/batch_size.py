"""Windows per encoder call (decode ``batch_size``): speed of full analysis, alternately on the same
articles, and the peak RSS of analysing the longest article in a fresh process for each size.

    python benchmarks/batch_size.py default ../shared/data/ptc/dev --sizes 16 8 4 2 --articles 20
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

from propscope.detect.base import resolve_model
from propscope.detect.cpu import cpu_info
from propscope.detect.onnx import OnnxDetector
from propscope.pipeline import analyze_articles
from propscope.ptc import read_articles
from propscope.read import article_from_text

_PROBE = """import sys
from propscope.detect.onnx import OnnxDetector
det = OnnxDetector(sys.argv[1], threads=int(sys.argv[3]))
det.core.config.batch_size = int(sys.argv[2])
det.detect([open(sys.argv[4], encoding="utf-8").read()])
print(open("/proc/self/status").read().split("VmHWM:")[1].split()[0])
"""


def peak_rss_mb(model: Path, size: int, threads: int, article: Path) -> float:
    out = subprocess.run([sys.executable, "-c", _PROBE, str(model), str(size), str(threads), str(article)],
                         capture_output=True, text=True, check=True).stdout
    return int(out.split()[-1]) / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model", help="a model folder or a shipped model's name")
    ap.add_argument("data", help="a folder of article<ID>.txt files (or one holding articles/)")
    ap.add_argument("--sizes", type=int, nargs="+", default=[16, 8, 4, 2])
    ap.add_argument("--articles", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    model = resolve_model(args.model)
    texts = list(read_articles(args.data).items())
    longest = max(texts, key=lambda t: len(t[1]))[0]
    folder = Path(args.data) / "articles" if (Path(args.data) / "articles").is_dir() else Path(args.data)
    arts = [article_from_text(t, id=i, clean=False) for i, t in texts[: args.articles]]
    det = OnnxDetector(model, threads=args.threads)
    print(f"{cpu_info().describe()}; {det.name}, encoder variant {det.variant}; {len(arts)} articles")
    for size in args.sizes:
        rss = peak_rss_mb(model, size, args.threads, folder / f"article{longest}.txt")
        print(f"batch {size}: peak RSS {rss:.0f} MB analysing article{longest} ({len(dict(texts)[longest])} "
              "characters)", flush=True)
    analyze_articles(arts[:2], det)  # warm-up
    rates: dict[int, list[float]] = {s: [] for s in args.sizes}
    for r in range(args.rounds):
        for size in args.sizes:
            det.core.config.batch_size = size
            t = time.perf_counter()
            analyze_articles(arts, det)
            rates[size].append(len(arts) / (time.perf_counter() - t))
            print(f"round {r + 1}, batch {size}: {rates[size][-1]:.2f} articles/s", flush=True)
    for size, rs in rates.items():
        print(f"batch {size}: median {sorted(rs)[len(rs) // 2]:.2f} articles/s over {len(rs)} rounds")


if __name__ == "__main__":
    main()
