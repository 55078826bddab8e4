"""Corpus store benchmark: ingest vs analyze throughput, re-ingest time, query times, bytes per article.

    python benchmarks/corpus.py ingest --model fast          # PTC dev: analyze vs ingest, then re-ingest
    python benchmarks/corpus.py queries --db /tmp/synth.db   # each stats/top/search/list query, 3 runs each

`ingest` analyses the PTC dev articles (../shared/data/ptc/dev/articles) with the model loaded once, with
propscope's pipeline alone (as `propscope analyze` does, batches of 16) and with `Corpus.ingest` into a new
SQLite store, alternating (--repeat, best of each), and reports articles/s of both and their ratio; then
it times `propscope ingest` of the same folder again (a new process: every article is already stored) and
reports the store's bytes per article.
`queries` times the queries of `propscope stats/top/search` and the explorer's paginated list on a store,
e.g. the synthetic one of benchmarks/synth_store.py (best of 3 runs, after one warm-up run).
"""

from __future__ import annotations

import argparse
import functools
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))

DEV = next((p / "shared" / "data" / "ptc" / "dev" / "articles" for p in (REPO.parent, REPO.parent.parent)
            if (p / "shared" / "data" / "ptc" / "dev" / "articles").is_dir()),
           REPO.parent / "shared" / "data" / "ptc" / "dev" / "articles")


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return f"{line.split(':', 1)[1].strip()}, {os.cpu_count()} CPUs"
    except OSError:
        pass
    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs"


def _size(db: Path) -> int:
    return sum(p.stat().st_size for p in db.parent.glob(db.name + "*"))


def bench_ingest(args: argparse.Namespace) -> None:
    from propscope import Corpus, load_detector
    from propscope.pipeline import analyze_articles
    from propscope.read import iter_articles

    folder = Path(args.data)
    arts = [a for a in iter_articles([folder]) if not isinstance(a, Exception)]
    det = load_detector(args.model)
    analyze_articles(arts[:2], det)  # warm-up
    print(f"# corpus ingest benchmark: {len(arts)} articles from {folder}, model {det.name}; {_cpu()}")
    t_an = t_in = float("inf")
    with tempfile.TemporaryDirectory() as tmp:
        for rep in range(args.repeat):  # alternate, best of each: the machine's load varies over time
            t = time.perf_counter()
            for i in range(0, len(arts), 16):
                analyze_articles(arts[i:i + 16], det)
            t_an = min(t_an, time.perf_counter() - t)
            db = Path(tmp) / f"bench{rep}.db"
            with Corpus(db) as corpus:
                t = time.perf_counter()
                report = corpus.ingest(arts, detector=det, batch_size=16)
                t_in = min(t_in, time.perf_counter() - t)
            assert report.added == len(arts), report.summary()
        cmd = [sys.executable, "-m", "propscope", "ingest", str(folder), "--db", str(db)]
        env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
        if args.model:
            cmd += ["--model", str(args.model)]
        t = time.perf_counter()
        out = subprocess.run(cmd, capture_output=True, text=True, env=env)
        t_re = time.perf_counter() - t
        size = _size(db)
    print(f"analyze (pipeline only)   {len(arts) / t_an:7.2f} articles/s  ({t_an:.1f} s)")
    print(f"ingest (analyze + store)  {len(arts) / t_in:7.2f} articles/s  ({t_in:.1f} s)  "
          f"= {100 * t_an / t_in:.1f}% of analyze's throughput")
    print(f"re-ingest, new process    {t_re:7.2f} s for {len(arts)} stored articles  ({out.stderr.strip()})")
    print(f"store size                {size / len(arts):7,.0f} bytes per article ({size / 1e6:.1f} MB)")


QUERIES: list[tuple[str, str, dict]] = [
    ("stats (all)", "stats", {}),
    ("stats --by technique", "stats", {"by": ["technique"]}),
    ("stats --by outlet", "stats", {"by": ["outlet"]}),
    ("stats --by month", "stats", {"by": ["month"]}),
    ("stats --by orientation --by technique", "stats", {"by": ["orientation", "technique"]}),
    ("stats --by month --by technique", "stats", {"by": ["month", "technique"]}),
    ("stats --by outlet --by technique", "stats", {"by": ["outlet", "technique"]}),
    ("stats --by week --technique loaded --min-confidence 0.8", "stats",
     {"by": ["week"], "f": {"techniques": ["loaded"], "min_confidence": 0.8}}),
    ("stats --by technique --from 2020-01 --to 2020-06 --orientation left", "stats",
     {"by": ["technique"], "f": {"date_from": "2020-01", "date_to": "2020-06", "orientations": ["left"]}}),
    ("stats --by outlet --search president", "stats", {"by": ["outlet"], "f": {"words": "president"}}),
    ("stats --by technique --min-confidence 0.5", "stats",
     {"by": ["technique"], "f": {"min_confidence": 0.5}}),
    ("stats --by month --by technique --min-confidence 0.5", "stats",
     {"by": ["month", "technique"], "f": {"min_confidence": 0.5}}),
    ("stats --by outlet --technique doubt --min-confidence 0.7", "stats",
     {"by": ["outlet"], "f": {"techniques": ["doubt"], "min_confidence": 0.7}}),
    ("stats --by technique --min-confidence 0.52 (between bands: every span)", "stats",
     {"by": ["technique"], "f": {"min_confidence": 0.52}}),
    ("top -n 10 --technique doubt --min-confidence 0.9", "top",
     {"f": {"techniques": ["doubt"], "min_confidence": 0.9}}),
    ("top -n 10", "top", {}),
    ("top -n 10 --technique slogans --outlet 'Outlet 07'", "top",
     {"f": {"techniques": ["slogans"], "outlets": ["Outlet 07"]}}),
    ("search 'president' (20 best)", "search", {"words": "president"}),
    ("search '\"white house\"' --orientation right", "search",
     {"words": '"white house"', "f": {"orientations": ["right"]}}),
    ("articles page 1000 of 50, by date", "articles", {"offset": 50_000}),
    ("articles --technique doubt, by score, page 2", "articles",
     {"offset": 50, "sort": "-score", "f": {"techniques": ["doubt"]}}),
]


def _query(corpus, kind: str, kw: dict, f) -> int:  # type: ignore[no-untyped-def]
    if kind == "stats":
        return len(corpus.stats(f, by=kw.get("by", [])))
    if kind == "top":
        return len(corpus.top(f, 10))
    if kind == "search":
        return len(corpus.search(kw["words"], f))
    return len(corpus.articles(f, sort=kw.get("sort", "-published"), offset=kw["offset"]).rows)


def bench_queries(args: argparse.Namespace) -> None:
    from propscope import Corpus
    from propscope.corpus import Filters

    db = Path(args.db)
    with Corpus(db) as corpus:
        n = corpus.count()
        with corpus.store.read() as conn:
            n_spans = conn.exec_driver_sql("SELECT count(*) FROM spans").scalar()
        print(f"# corpus query benchmark: {db} ({n:,} articles, {n_spans:,} spans, "
              f"{_size(db) / max(n, 1):,.0f} bytes per article); {_cpu()}")
        print(f"{'query':<72} {'best of 3':>10} {'rows':>6}")
        for label, kind, kw in QUERIES:
            f = Filters.parse(**kw.get("f", {}))
            run = functools.partial(_query, corpus, kind, kw, f)
            rows = run()
            best = float("inf")
            for _ in range(3):
                t = time.perf_counter()
                run()
                best = min(best, time.perf_counter() - t)
            print(f"{label:<72} {best * 1000:8.0f} ms {rows:6d}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("ingest", help="analyze vs ingest throughput, re-ingest time, bytes per article")
    a.add_argument("--data", default=str(DEV), help="folder of articles (default: PTC dev)")
    a.add_argument("--model", default=None, help="model folder or name (default, fast)")
    a.add_argument("--repeat", type=int, default=3, help="runs of each, alternating; the best counts")
    q = sub.add_parser("queries", help="time each query on a store")
    q.add_argument("--db", required=True)
    args = ap.parse_args()
    bench_ingest(args) if args.cmd == "ingest" else bench_queries(args)


if __name__ == "__main__":
    main()
