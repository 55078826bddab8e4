"""The speed benchmark behind `propscope benchmark`: full analysis (SI + TC) over a folder of articles
with the ONNX model (the encoder variant chosen for this CPU), the same model in PyTorch fp32 and a BERT-base
reference pipeline (PyTorch fp32, random weights) when torch is installed, and the peak RSS of analysing one
article in a fresh process. Every result names the CPU and its AVX2 / AVX-512 / VNNI / AMX support."""

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
    """The CPU's model name and the instructions int8 kernels can use (int8 kernels round differently without
    VNNI, so scores differ slightly across CPU kinds: README)."""
    from .detect.cpu import cpu_info

    return cpu_info().describe()


def _time_passes(fn: Callable[[], object], repeat: int) -> list[float]:
    """Seconds of each of ``repeat`` calls of ``fn``."""
    times = []
    for _ in range(max(1, repeat)):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return times


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
                  with_torch: bool = True, with_reference: bool = True, with_rss: bool = True,
                  settings: Sequence[str] = (), limit: int | None = None,
                  log: Callable[[str], None] = print) -> dict:
    """Time the model on the articles in ``data``; a dict of figures (see the module docstring)."""
    from .detect.cpu import cpu_info
    from .detect.onnx import OnnxDetector
    from .detect.windows import encode

    model_dir = resolve_model(model)
    texts = read_articles(data)
    if limit:
        texts = dict(list(texts.items())[:limit])
    articles = [article_from_text(t, id=i, clean=False) for i, t in texts.items()]
    det = OnnxDetector(model_dir, threads=threads)
    det.core.config = det.core.config.with_settings(settings)
    n_tokens = sum(len(e) for e in encode(det.core.tokenizer, [a.text for a in articles]))
    analyze_articles(articles[:4], det)  # warm-up
    log(f"timing {len(articles)} articles ({n_tokens} tokens), {threads} threads, best of {repeat}")
    passes = _time_passes(lambda: analyze_articles(articles, det), repeat)
    dt = min(passes)
    res: dict = {
        "model": det.name,
        "articles": len(articles),
        "tokens": n_tokens,
        "threads": threads,
        "settings": list(settings),
        "cpu": cpu_info().describe(),
        "machine": f"{platform.machine()}, {os.cpu_count()} logical CPUs",
        "encoder_variant": f"{det.variant} ({det.variants[det.variant]})",
        "onnx_seconds": round(dt, 3),
        "onnx_articles_per_s": round(len(articles) / dt, 2),
        "onnx_tokens_per_s": round(n_tokens / dt),
    }
    log(f"{res['model']} ONNX {res['encoder_variant']}: {res['onnx_articles_per_s']} articles/s "
        f"on {res['cpu']}")
    if with_torch or with_reference:
        try:  # needs torch and transformers (the train extra)
            from propscope_train.bench_torch import BertBaseReference, TorchDetector
        except ImportError:
            log("torch is not installed: skipping the PyTorch fp32 timings and the BERT-base reference")
        else:
            runs = [("torch_fp32", lambda: TorchDetector(det, model_dir, threads))] if with_torch else []
            if with_reference:
                runs.append(("bert_base_fp32", lambda: BertBaseReference(det, threads)))
            for key, make in runs:
                other = make()
                analyze_articles(articles[:4], other)  # warm-up
                log(f"timing {other.name}")
                dt = _time_passes(lambda other=other: analyze_articles(articles, other), 1)[0]
                res.update({f"{key}_seconds": round(dt, 3),
                            f"{key}_articles_per_s": round(len(articles) / dt, 2),
                            f"{key}_tokens_per_s": round(n_tokens / dt)})
                log(f"{other.name}: {res[f'{key}_articles_per_s']} articles/s (one pass)")
            if with_reference:
                # one pass of the reference against the mean ONNX pass (not the best), so that
                # --repeat does not favour the ONNX model
                res["speedup_vs_bert_base"] = round(res["bert_base_fp32_seconds"] * len(passes)
                                                    / sum(passes), 2)
    if with_rss:
        longest = max(texts, key=lambda k: len(texts[k]))
        src = Path(data) / "articles" if (Path(data) / "articles").is_dir() else Path(data)
        rss = _peak_rss_mb(model_dir, src / f"article{longest}.txt", threads)
        res["peak_rss_mb_one_article"] = round(rss, 1)
    return res
