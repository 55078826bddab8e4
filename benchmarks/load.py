"""Load benchmark for `propscope serve`: N concurrent clients on loopback for a bounded time.

    python benchmarks/load.py --clients 8 --duration 10            # the installed model
    python benchmarks/load.py --clients 8 --duration 10 --model DIR
    python benchmarks/load.py --fake                               # HTTP stack only, NO model
    python benchmarks/load.py --explore /tmp/synth.db               # the Explore view's corpus API calls

It starts `propscope serve` on a free 127.0.0.1 port in a child process, waits until the model is loaded,
sends one warm-up request, then lets N clients (httpx.AsyncClient, one connection each) post the article
again and again until the duration or the request cap is reached, stops the server and prints requests/s,
p50/p90/p99 latency and the error count. Only loopback is ever contacted. The clients share the machine
with the server: on a small machine they take some of its CPU.

--fake swaps the model for a detector that marks a few fixed words: it measures the HTTP/JSON/reading path
without any model and is labelled so in the output. It is not a measure of propscope's analysis speed.

--explore STORE measures the corpus API that the Explore view calls (stats for each chart, article pages,
one article, outlets, search) on a store (e.g. the 100,000-article one of benchmarks/synth_store.py): for
each call in turn, N clients repeat it for --duration seconds; it prints p50/p95 per call. It runs twice:
with the server's answer cache (the default: an answer is computed once per store version) and without it
($PROPSCOPE_CORPUS_CACHE=0: every request runs its query), unless --cache on|off picks one. No model loads.
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


def _serve_fake(port: int, db: str | None = None) -> None:
    import uvicorn

    from propscope.server.app import create_app

    corpus = None
    if db:
        from propscope import Corpus

        corpus = Corpus(db, create=False)
    uvicorn.run(create_app(HttpOnlyDetector(), corpus=corpus), host="127.0.0.1", port=port,
                log_level="warning")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(port: int, *, fake: bool, model: str | None, startup_timeout: float,
                 db: str | None = None, env: dict[str, str] | None = None) -> subprocess.Popen:
    if fake:
        cmd = [sys.executable, __file__, "--_serve-fake", str(port)] + (["--_db", db] if db else [])
    else:
        cmd = [sys.executable, "-c", "from propscope.cli import main; main()", "serve",
               "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
        if model:
            cmd += ["--model", model]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, **(env or {})})
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


# --- the Explore view's corpus API ------------------------------------------------------------------------


def explore_calls(base: str) -> list[tuple[str, list[str]]]:
    """(name, URLs) of each call the Explore view makes; a call with several URLs cycles through them."""
    outlets = httpx.get(f"{base}/api/v1/corpus/outlets", timeout=60).json()
    outlets.sort(key=lambda o: -o["articles"])
    a, b = (outlets[0]["name"], outlets[1]["name"]) if len(outlets) > 1 else ("x", "y")
    ids = [r["id"] for r in httpx.get(f"{base}/api/v1/corpus/articles", params={"limit": 200, "sort": "id"},
                                      timeout=60).json()["rows"]]
    c = "/api/v1/corpus"
    q = httpx.QueryParams
    return [
        ("stats ?by=month&by=technique (time chart)", [f"{c}/stats?by=month&by=technique"]),
        ("stats ?by=week&by=technique, left, 2020", [f"{c}/stats?by=week&by=technique&orientation=left"
                                                    "&from=2020-01&to=2020-12"]),
        ("stats ?by=outlet (outlets chart)", [f"{c}/stats?by=outlet"]),
        ("stats ?by=outlet&by=technique (shares)", [f"{c}/stats?by=outlet&by=technique"]),
        ("stats two outlets side by side", [f"{c}/stats?" + str(q([("by", "outlet"), ("by", "technique"),
                                                                   ("outlet", a), ("outlet", b)]))]),
        ("stats ?by=month&by=technique&min_confidence=0.5", [f"{c}/stats?by=month&by=technique"
                                                             "&min_confidence=0.5"]),
        ("articles, page 1 by date", [f"{c}/articles?sort=-published&limit=20"]),
        ("articles by score, technique doubt, page 51", [f"{c}/articles?sort=-score&technique=doubt"
                                                         "&offset=1000&limit=20"]),
        ("articles, technique doubt at confidence >= 0.7, by score", [
            f"{c}/articles?sort=-score&technique=doubt&min_confidence=0.7&limit=20"]),
        ("articles by outlet, page 101", [f"{c}/articles?sort=outlet&offset=2000&limit=20"]),
        ("one article (200 different ids)", [f"{c}/articles/{i}" for i in ids]),
        ("outlets", [f"{c}/outlets"]),
        ("search president", [f"{c}/search?q=president"]),
        ('search "white house", right', [f"{c}/search?" + str(q({"q": '"white house"',
                                                                  "orientation": "right"}))]),
    ]


async def run_call(base: str, urls: list[str], clients: int, duration: float, max_requests: int) -> dict:
    latencies: list[float] = []
    errors: Counter[str] = Counter()
    issued = 0
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, timeout=120, limits=limits) as client:
        stop_at = time.perf_counter() + duration

        async def worker() -> None:
            nonlocal issued
            while time.perf_counter() < stop_at and issued < max_requests:
                url = urls[issued % len(urls)]
                issued += 1
                t0 = time.perf_counter()
                try:
                    r = await client.get(url)
                except httpx.HTTPError as exc:
                    errors[type(exc).__name__] += 1
                    continue
                if r.status_code == 200:
                    latencies.append(time.perf_counter() - t0)
                else:
                    errors[f"HTTP {r.status_code}"] += 1

        await asyncio.gather(*(worker() for _ in range(clients)))
    return {"latencies": sorted(latencies), "errors": errors}


def explore(args: argparse.Namespace) -> int:
    if not Path(args.explore).is_file():
        sys.exit(f"{args.explore}: no such store (build one: python benchmarks/synth_store.py --out FILE)")
    failed = 0
    print(f"propscope explorer load benchmark: store {args.explore}, {args.clients} clients per call, "
          f"{args.duration:g} s per call, loopback; machine: {platform.machine()}, {os.cpu_count()} CPUs, "
          f"load average {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    for cache in (["on", "off"] if args.cache == "both" else [args.cache]):
        port = _free_port()
        env = {} if cache == "on" else {"PROPSCOPE_CORPUS_CACHE": "0"}
        proc = start_server(port, fake=True, model=None, startup_timeout=args.startup_timeout,
                            db=args.explore, env=env)
        base = f"http://127.0.0.1:{port}"
        try:
            print(f"\nanswer cache {cache}" + (" (first request of each call computes, the rest are served "
                                                "from the cache)" if cache == "on" else
                                                " (every request runs its query)"))
            print(f"{'call':<52} {'requests':>8} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
            for name, urls in explore_calls(base):
                res = asyncio.run(run_call(base, urls, args.clients, args.duration, args.max_requests))
                ms = [x * 1000 for x in res["latencies"]]
                n_err = sum(res["errors"].values())
                failed += n_err
                over = percentile(ms, 95) >= 300
                print(f"{name:<52} {len(ms):>8} {percentile(ms, 50):>8.0f} {percentile(ms, 95):>8.0f} "
                      f"{(ms[-1] if ms else float('nan')):>8.0f}" + ("  (p95 over 300 ms)" if over else "")
                      + (f"  errors: {dict(res['errors'])}" if n_err else ""))
        finally:
            stop_server(proc)
    return 0 if not failed else 1


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
    p.add_argument("--explore", metavar="STORE", help="measure the Explore view's corpus API on this store")
    p.add_argument("--cache", choices=["both", "on", "off"], default="both",
                   help="with --explore: server answer cache on, off, or both runs (default)")
    p.add_argument("--_serve-fake", type=int, help=argparse.SUPPRESS)
    p.add_argument("--_db", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args._serve_fake:
        _serve_fake(args._serve_fake, args._db)
        return 0
    if args.explore:
        if not 0 < args.duration <= 120:
            p.error("--duration must be in (0, 120] seconds")
        return explore(args)
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
