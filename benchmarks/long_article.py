"""Analysis speed on one long article, in characters per second: the basis of the article length limit.

    python benchmarks/long_article.py                       # the sample article repeated to 300,000 chars
    python benchmarks/long_article.py --chars 1000000 --model fast
    python benchmarks/long_article.py --data ../shared/data/ptc/dev/articles   # PTC articles joined

It prints the CPU (model name, and whether it has AVX-512 VNNI / AVX2), the text length, the seconds the
analysis took and characters per second, from which docs/limits.md sets MAX_ARTICLE_CHARS.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from propscope.bench import cpu_description
from propscope.detect.base import load_detector
from propscope.pipeline import analyze_articles
from propscope.read import read_one

SAMPLE = Path(__file__).resolve().parents[1] / "examples" / "idlib-truce.txt"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--chars", type=int, default=300_000, help="length of the article analysed")
    ap.add_argument("--model", default=None, help="model folder or shipped model name")
    ap.add_argument("--data", type=Path, default=None, help="folder of .txt articles to join")
    args = ap.parse_args()
    files = sorted(args.data.glob("*.txt")) if args.data else [SAMPLE]
    parts, n = [], 0
    while n < args.chars:
        for f in files:
            t = f.read_text(encoding="utf-8")
            parts.append(t)
            n += len(t) + 1
            if n >= args.chars:
                break
    text = "\n".join(parts)[: args.chars]
    article = read_one(text, clean=False)
    det = load_detector(args.model)
    analyze_articles([read_one(SAMPLE)], det)  # warm-up
    t0 = time.perf_counter()
    analysis = analyze_articles([article], det)[0]
    dt = time.perf_counter() - t0
    print(f"cpu: {cpu_description()}")
    print(f"model: {det.name}")
    print(f"{len(article.text):,} chars, {len(analysis.spans):,} spans, {dt:.1f} s, "
          f"{len(article.text) / dt:,.0f} chars/s, {len(article.text) / dt * 60 / 1e6:.2f} M chars/min")


if __name__ == "__main__":
    main()
