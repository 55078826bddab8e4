"""Load benchmark for `propscope serve`: N concurrent clients on loopback for a bounded time.

    python benchmarks/load.py --clients 8 --duration 10            # the installed model
    python benchmarks/load.py --clients 8 --duration 10 --model DIR
    python benchmarks/load.py --fake                               # HTTP stack only, NO model

It starts `propscope serve` on a free 127.0.0.1 port in a child process, waits until the model is loaded,
sends one warm-up request, then lets N clients (httpx.AsyncClient, one connection each) post the article
again and again until the duration or the request cap is reached, stops the server and prints requests/s,
p50/p90/p99 latency and the error count. Only loopback is ever contacted. The clients share the machine
with the server: on a small machine they take some of its CPU.

--fake swaps the model for a detector that marks a few fixed words: it measures the HTTP/JSON/reading path
without any model and is labelled so in the output. It is not a measure of propscope's analysis speed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import re
import socket
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
DEFAULT_ARTICLE = REPO / "examples" / "idlib-truce.txt"


# --- the server side --------------------------------------------------------------------------------------


class HttpOnlyDetector:
    """For --fake only: no model, marks fixed words. Measures the HTTP stack, not propscope's analysis."""

    name = "NO MODEL (--fake: HTTP stack only)"
    _rx = re.compile(r"\bterrorist\w*|\bwisen up\b", re.IGNORECASE)

    def detect(self, texts):
        from propscope.detect.base import SpanPrediction

        return [[SpanPrediction(m.start(), m.end(), "Loaded_Language", 0.5) for m in self._rx.finditer(t)]
                for t in texts]

    def classify(self, texts, spans):
        return [[{} for _ in s] for s in spans]


def _serve_fake(port: int) -> None:
    import uvicorn

    from propscope.server.app import create_app

    uvicorn.run(create_app(HttpOnlyDetector()), host="127.0.0.1", port=port, log_level="warning")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(port: int, *, fake: bool, model: str | None, startup_timeout: float) -> subprocess.Popen:
    if fake:
        cmd = [sys.executable, __file__, "--_serve-fake", str(port)]
    else:
        cmd = [sys.executable, "-c", "from propscope.cli import main; main()", "serve",
               "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
        if model:
            cmd += ["--model", model]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + startup_timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            err = proc.stderr.read() if proc.stderr else ""
            sys.exit(f"the server did not start (exit code {proc.returncode}):\n{err.strip()}\n"
                     "(no model? install or train one, pass --model DIR, or use --fake to measure the HTTP "
                     "stack alone)")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.terminate()
    sys.exit(f"the server did not answer /healthz within {startup_timeout:.0f} s")


def stop_server(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


# --- the client side --------------------------------------------------------------------------------------


async def run_load(base: str, payload: dict, clients: int, duration: float, max_requests: int) -> dict:
    latencies: list[float] = []
    errors: Counter[str] = Counter()
    spans: list[int] = []
    issued = 0
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, timeout=120, limits=limits) as client:
        warm = await client.post("/api/v1/analyze", json=payload)
        warm.raise_for_status()
        model = warm.json().get("model")
        start = time.perf_counter()
        stop_at = start + duration

        async def worker() -> None:
            nonlocal issued
            while time.perf_counter() < stop_at and issued < max_requests:
                issued += 1
                t0 = time.perf_counter()
                try:
                    r = await client.post("/api/v1/analyze", json=payload)
                except httpx.HTTPError as exc:
                    errors[type(exc).__name__] += 1
                    continue
                dt = time.perf_counter() - t0
                if r.status_code == 200:
                    latencies.append(dt)
                    spans.append(len(r.json()["spans"]))
                else:
                    errors[f"HTTP {r.status_code}"] += 1

        await asyncio.gather(*(worker() for _ in range(clients)))
        elapsed = time.perf_counter() - start
    return {"latencies": latencies, "errors": errors, "elapsed": elapsed, "model": model, "spans": spans}


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    k = min(len(sorted_values) - 1, max(0, round(q / 100 * (len(sorted_values) - 1))))
    return sorted_values[k]


def report(res: dict, args: argparse.Namespace, article_chars: int) -> str:
    lat = sorted(res["latencies"])
    ms = [x * 1000 for x in lat]
    ok, n_err = len(lat), sum(res["errors"].values())
    lines = [
        f"propscope load benchmark: {args.clients} clients, {args.duration:g} s (cap {args.max_requests} "
        f"requests), article {article_chars} chars, loopback",
        f"model: {res['model']}",
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
        f"requests: {ok} ok, {n_err} errors"
        + (f" ({', '.join(f'{k}: {v}' for k, v in res['errors'].items())})" if n_err else ""),
        f"throughput: {ok / res['elapsed']:.2f} requests/s over {res['elapsed']:.1f} s",
    ]
    if ms:
        lines.append(f"latency ms: p50 {percentile(ms, 50):.0f}  p90 {percentile(ms, 90):.0f}  "
                     f"p99 {percentile(ms, 99):.0f}  max {ms[-1]:.0f}  mean {statistics.fmean(ms):.0f}")
        lines.append(f"spans per response: {statistics.fmean(res['spans']):.1f}")
    if args.fake:
        lines.append("NOTE: --fake: no model ran; these figures measure the HTTP stack only.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--clients", type=int, default=8, help="concurrent clients (default 8)")
    p.add_argument("--duration", type=float, default=10.0, help="seconds of load (default 10, at most 120)")
    p.add_argument("--max-requests", type=int, default=5000, help="stop after this many requests")
    p.add_argument("--article", type=Path, default=DEFAULT_ARTICLE, help="text file to post")
    p.add_argument("--model", help="model folder for the server (default: the installed model)")
    p.add_argument("--fake", action="store_true", help="no model: measure the HTTP stack only (labelled)")
    p.add_argument("--startup-timeout", type=float, default=180.0, help="seconds to wait for the model")
    p.add_argument("--_serve-fake", type=int, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args._serve_fake:
        _serve_fake(args._serve_fake)
        return 0
    if not 1 <= args.clients <= 256:
        p.error("--clients must be between 1 and 256")
    if not 0 < args.duration <= 120:
        p.error("--duration must be in (0, 120] seconds")
    text = args.article.read_text(encoding="utf-8")
    port = _free_port()
    proc = start_server(port, fake=args.fake, model=args.model, startup_timeout=args.startup_timeout)
    try:
        res = asyncio.run(run_load(f"http://127.0.0.1:{port}", {"text": text}, args.clients, args.duration,
                                   args.max_requests))
    finally:
        stop_server(proc)
    print(report(res, args, len(text)))
    return 0 if not res["errors"] else 1


if __name__ == "__main__":
    sys.exit(main())
