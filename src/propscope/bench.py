"""The speed benchmark behind `propscope benchmark`: full analysis (SI + TC) over a folder of articles
with the ONNX int8 model, the same model in PyTorch fp32 when torch is installed, and the peak RSS of
analysing one article in a fresh process."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from .detect.base import resolve_model
from .errors import InputError
from .pipeline import analyze_articles
from .ptc import read_articles
from .read import article_from_text


def cpu_description() -> str:
    """The CPU's model name and the int8 instructions onnxruntime can use (AVX-512 VNNI, AVX-VNNI, AVX2):
    int8 kernels round differently without VNNI, so scores differ slightly across CPU kinds (README)."""
    name, flags = platform.processor() or platform.machine(), set()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() == "model name" and value.strip():
                    name = value.strip()
                elif key.strip() == "flags":
                    flags = set(value.split())
                    break
    except OSError:
        pass
    isa = [label for flag, label in (("avx512_vnni", "AVX-512 VNNI"), ("avx_vnni", "AVX-VNNI"),
                                     ("avx2", "AVX2")) if flag in flags]
    return f"{name} ({', '.join(isa)})" if isa else name


def _time_passes(fn: Callable[[], object], repeat: int) -> float:
    best = float("inf")
    for _ in range(max(1, repeat)):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def _peak_rss_mb(model_dir: Path, article: Path, threads: int) -> float:
    """Peak resident memory of `propscope analyze ARTICLE --format json` in a child process."""
    env = dict(os.environ, PROPSCOPE_THREADS=str(threads))
    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.run(
            [sys.executable, "-c", "import sys\n"
             "from propscope.cli import main\n"
             "sys.argv = ['propscope', 'analyze', sys.argv[1], '--format', 'json', '-o', sys.argv[2],"
             " '--model', sys.argv[3]]\n"
             "try:\n    main()\nexcept SystemExit as e:\n    code = e.code\nelse:\n    code = 0\n"
             "print(open('/proc/self/status').read().split('VmHWM:')[1].split()[0])\nsys.exit(code)\n",
             str(article), str(Path(tmp) / "out.json"), str(model_dir)],
            capture_output=True, text=True, env=env, check=False)
    if proc.returncode != 0:
        raise InputError(str(article), f"analysis failed in the RSS probe: {proc.stderr.strip()[-300:]}")
    # VmHWM (peak RSS of this process image, in KiB). Not ru_maxrss: Linux carries that across fork+exec,
    # so the child would report the benchmark process's own peak.
    return int(proc.stdout.strip().splitlines()[-1]) / 1024


def run_benchmark(data: Path, model: Path | None, *, threads: int = 2, repeat: int = 3,
                  with_torch: bool = True, with_rss: bool = True, settings: Sequence[str] = (),
                  log: Callable[[str], None] = print) -> dict:
    from .detect.onnx import OnnxDetector
    from .detect.windows import encode

    model_dir = resolve_model(model)
    texts = read_articles(data)
    articles = [article_from_text(t, id=i, clean=False) for i, t in texts.items()]
    det = OnnxDetector(model_dir, threads=threads)
    det.core.config = det.core.config.with_settings(settings)
    n_tokens = sum(len(e) for e in encode(det.core.tokenizer, [a.text for a in articles]))
    analyze_articles(articles[:4], det)  # warm-up
    log(f"timing {len(articles)} articles ({n_tokens} tokens), {threads} threads, best of {repeat}")
    dt = _time_passes(lambda: analyze_articles(articles, det), repeat)
    res: dict = {
        "model": det.name,
        "articles": len(articles),
        "tokens": n_tokens,
        "threads": threads,
        "settings": list(settings),
        "cpu": cpu_description(),
        "onnx_int8_seconds": round(dt, 3),
        "onnx_int8_articles_per_s": round(len(articles) / dt, 2),
        "onnx_int8_tokens_per_s": round(n_tokens / dt),
    }
    if with_torch:
        try:
            from propscope_train.bench_torch import TorchDetector  # needs torch (the train extra)
        except ImportError:
            log("torch is not installed: skipping the PyTorch fp32 comparison")
        else:
            tdet = TorchDetector(det, model_dir, threads)
            analyze_articles(articles[:4], tdet)  # warm-up
            dt = _time_passes(lambda: analyze_articles(articles, tdet), 1)
            res.update(torch_fp32_seconds=round(dt, 3),
                       torch_fp32_articles_per_s=round(len(articles) / dt, 2),
                       torch_fp32_tokens_per_s=round(n_tokens / dt))
    if with_rss:
        longest = max(texts, key=lambda k: len(texts[k]))
        src = Path(data) / "articles" if (Path(data) / "articles").is_dir() else Path(data)
        rss = _peak_rss_mb(model_dir, src / f"article{longest}.txt", threads)
        res["peak_rss_mb_one_article"] = round(rss, 1)
    return res
