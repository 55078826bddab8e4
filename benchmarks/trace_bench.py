"""Speed of `propscope trace` on a synthetic corpus with planted reuse (a benchmark, not a test).

    python benchmarks/trace_bench.py                        # 100,000 articles, 1% planted reuse, then Ray
    python benchmarks/trace_bench.py --n 20000 --ray-n 5000 # smaller
    python benchmarks/trace_bench.py --no-ray

Prints: corpus size; MinHash signatures per second (vectorised, and datasketch's MinHash.update_batch for
reference); the local trace's time per stage and planted-pair recall/precision; Ray with 1 and 2 workers
against local mode on the first ``--ray-n`` articles (same results checked); and the per-article costs that
docs/trace.md projects to 10 million articles.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from propscope.trace import trace  # noqa: E402
from propscope.trace.shingles import (  # noqa: E402
    LshParams,
    minhash_reference,
    shingle_hashes,
    window_signatures,
    word_hashes,
    words,
)
from propscope.trace.synth import synthetic_corpus  # noqa: E402


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _score(arts, planted, res) -> tuple[float, float]:
    truth = {frozenset((p.source, p.copy)) for p in planted}
    found = {frozenset((lk.source, lk.copy_id)) for lk in res.links}
    hit = len(truth & found)
    return hit / max(1, len(truth)), hit / max(1, len(found))


def signatures_per_second(arts, n: int = 3000) -> None:
    params = LshParams()
    sample = arts[:n]
    t0 = time.perf_counter()
    sh = [shingle_hashes(word_hashes(words(a.text)), params.shingle) for a in sample]
    t1 = time.perf_counter()
    sigs = [window_signatures(s, params) for s in sh]
    t2 = time.perf_counter()
    n_sig = sum(len(s) for s in sigs)
    print(f"MinHash ({params.num_perm} permutations, windows of ~{params.window} word {params.shingle}-grams)"
          f", {len(sample)} articles, {n_sig} window signatures:")
    print(f"  words -> shingle hashes: {len(sample) / (t1 - t0):,.0f} articles/s")
    print(f"  signatures (vectorised): {n_sig / (t2 - t1):,.0f} signatures/s, {len(sample) / (t2 - t1):,.0f} "
          "articles/s")
    # datasketch's own MinHash on the first 300 articles, whole text as one set (same permutations)
    k = 300
    t3 = time.perf_counter()
    for s in sh[:k]:
        minhash_reference(s, params.num_perm)
    t4 = time.perf_counter()
    print(f"  datasketch MinHash.update_batch, one signature per article: {k / (t4 - t3):,.0f} signatures/s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--reuse", type=float, default=0.01)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--ray-n", type=int, default=10_000, help="articles for the Ray comparison")
    ap.add_argument("--no-ray", action="store_true")
    args = ap.parse_args()
    print(f"# trace benchmark on {_cpu()}, {os.cpu_count()} CPUs visible, Python {platform.python_version()}")
    t0 = time.perf_counter()
    arts, planted = synthetic_corpus(args.n, reuse=args.reuse, seed=args.seed, sentences=(10, 40))
    chars = sum(len(a.text) for a in arts)
    n_words = sum(len(words(a.text)) for a in arts[:2000]) / min(2000, len(arts))
    print(f"corpus: {len(arts):,} articles ({chars / 1e6:.0f} MB, about {n_words:.0f} words each), "
          f"{len(planted)} planted pairs; generated in {time.perf_counter() - t0:.1f} s")
    signatures_per_second(arts)

    t0 = time.perf_counter()
    res = trace(arts)
    total = time.perf_counter() - t0
    rec, prec = _score(arts, planted, res)
    s = res.stats
    print(f"\nlocal trace of {len(arts):,} articles: {total:.1f} s ({len(arts) / total:,.0f} articles/s); "
          "stages " + ", ".join(f"{k} {v:.1f} s" for k, v in s.seconds.items()))
    print(f"  {s.windows:,} windows, {s.candidate_pairs:,} candidate pairs, {s.capped_buckets} capped buckets"
          f", {len(res.links):,} links")
    print(f"  planted pairs: recall {rec:.3f}, precision {prec:.3f}")
    per = {k: v / len(arts) * 1e3 for k, v in s.seconds.items()}
    align_pp = s.seconds.get("align", 0.0) / max(1, s.candidate_pairs) * 1e3
    print("  per article: " + ", ".join(f"{k} {v:.3f} ms" for k, v in per.items())
          + f"; per candidate pair aligned: {align_pp:.3f} ms")

    if args.no_ray:
        return
    try:
        import ray
    except ImportError:
        print("\nray not installed: Ray comparison skipped (pip install 'propscope[ray]')")
        return
    from propscope.scale.ray import trace_ray

    sub = arts[:args.ray_n]
    t0 = time.perf_counter()
    local = trace(sub)
    t_local = time.perf_counter() - t0
    print(f"\nRay against local on {len(sub):,} articles (local {t_local:.1f} s, {len(sub) / t_local:,.0f} "
          "articles/s)")
    for workers in (1, 2):
        t0 = time.perf_counter()
        ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
        t_init = time.perf_counter() - t0
        t0 = time.perf_counter()
        out = trace_ray(sub, chunk=max(500, len(sub) // (4 * workers)))
        t_ray = time.perf_counter() - t0
        same = out.model_dump(exclude={"stats"}) == local.model_dump(exclude={"stats"})
        print(f"  Ray, {workers} worker{'s' if workers > 1 else ''}: {t_ray:.1f} s ({len(sub) / t_ray:,.0f} "
              f"articles/s; start-up {t_init:.1f} s not counted); same links as local: {same}")
        ray.shutdown()


if __name__ == "__main__":
    main()
