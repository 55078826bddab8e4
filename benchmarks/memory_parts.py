"""Resident memory (VmRSS) after each step of loading what `propscope analyze` needs, in one fresh process:
the CLI modules, onnxruntime, the detector (ONNX session, tokenizer, heads), the language identifier
(py3langid, loaded on the first article), trafilatura.

    python benchmarks/memory_parts.py [--model default|fast|DIR]
"""

from __future__ import annotations

import argparse


def rss_mb() -> int:
    return int(open("/proc/self/status").read().split("VmRSS:")[1].split()[0]) // 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="default")
    args = ap.parse_args()
    last = rss_mb()
    print(f"start: {last} MB")

    def step(name: str) -> None:
        nonlocal last
        now = rss_mb()
        print(f"{name}: {now} MB (+{now - last})")
        last = now

    import propscope.cli  # noqa: F401
    import propscope.pipeline  # noqa: F401
    step("CLI and pipeline modules")
    import onnxruntime  # noqa: F401
    step("onnxruntime")
    from propscope.detect.base import resolve_model
    from propscope.detect.onnx import OnnxDetector

    OnnxDetector(resolve_model(args.model), threads=2)
    step("detector (ONNX session, tokenizer, heads, lexical model)")
    from propscope.lang import identify

    identify("This is a short English sentence about the news, and a little more of it.")
    step("language identifier (py3langid)")
    import trafilatura  # noqa: F401
    step("trafilatura")


if __name__ == "__main__":
    main()
