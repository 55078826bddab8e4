"""Evaluate `propscope trace`: pair precision/recall and passage boundaries on synthetic planted reuse, and
pair precision/recall on the labelled real reuse of PTC train+dev (benchmarks/data/ptc_reuse_labels.tsv).

    python benchmarks/trace_eval.py                   # both sets (PTC skipped when the corpus is absent)
    python benchmarks/trace_eval.py --n 4000 --seed 1 # a bigger synthetic set
    python benchmarks/trace_eval.py --show-errors     # print the PTC pairs it misses or adds

Synthetic: ``--n`` articles of which 10% are planted copies of an earlier article (a run of its sentences, or
all of them, verbatim or with 10% / 20% of the words replaced, dropped or inserted) or pairs sharing only a
quotation. A link is right when it joins a planted pair; boundaries are scored on the planted passage, in
words between the true and the found boundary, on both sides.
"""

from __future__ import annotations

import argparse
import collections
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from propscope.trace import TraceInput, TraceParams, trace  # noqa: E402
from propscope.trace.synth import synthetic_corpus  # noqa: E402

WORDS = re.compile(r"\w+")


def _pr(tp: int, n_pred: int, n_true: int) -> str:
    p = tp / n_pred if n_pred else 0.0
    r = tp / n_true if n_true else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return f"P {p:.3f}  R {r:.3f}  F1 {f:.3f}  ({tp} right of {n_pred} found, {n_true} true)"


def _word_gap(text: str, a: int, b: int) -> int:
    lo, hi = min(a, b), max(a, b)
    return len(WORDS.findall(text[lo:hi]))


def synthetic(n: int, seed: int, params: TraceParams) -> None:
    arts, planted = synthetic_corpus(n, reuse=0.1, seed=seed)
    texts = {a.id: a.text for a in arts}
    t0 = time.perf_counter()
    res = trace(arts, params)
    secs = time.perf_counter() - t0
    truth = {frozenset((p.source, p.copy)): p for p in planted}
    found = {frozenset((lk.source, lk.copy_id)): lk for lk in res.links}
    hit = set(truth) & set(found)
    print(f"## synthetic: {len(arts)} articles, {len(planted)} planted pairs, seed {seed} ({secs:.1f} s)")
    print("pairs:", _pr(len(hit), len(found), len(truth)))
    by = collections.defaultdict(lambda: [0, 0])
    for k, p in truth.items():
        key = f"{p.kind} rate {p.rate:.2f}" if p.kind != "quotation" else "quotation"
        by[key][1] += 1
        by[key][0] += k in hit
    for key in sorted(by):
        print(f"  recall {key:<20} {by[key][0] / by[key][1]:.3f} ({by[key][0]}/{by[key][1]})")
    conf = collections.Counter((truth[k].kind, found[k].kind) for k in hit)
    kinds = ["verbatim", "reworded", "quotation"]
    print("kind confusion (rows planted, columns found):", "  ".join(f"{k:>9}" for k in kinds))
    for t in kinds:
        print(f"  {t:<10}", "  ".join(f"{conf[(t, f)]:>9}" for f in kinds))
    right_kind = sum(conf[(k, k)] for k in kinds)
    print(f"kind accuracy {right_kind / max(1, len(hit)):.3f}")
    direction = sum(1 for k in hit if found[k].direction == "dates" and found[k].source == truth[k].source)
    print(f"direction right {direction / max(1, len(hit)):.3f} (dates always differ in this set)")
    errs, overlap = [], []
    for k in hit:
        p, lk = truth[k], found[k]
        flip = lk.source != p.source
        for ts, te, cs, ce in p.passages:
            sa, sb = (p.source, p.copy) if not flip else (p.copy, p.source)
            got = [(q.source_start, q.source_end, q.copy_start, q.copy_end) for q in lk.passages]
            if flip:
                got = [(c0, c1, s0, s1) for s0, s1, c0, c1 in got]
            near = [g for g in got if g[2] < ce and g[3] > cs]
            if not near:
                errs.extend([None] * 4)
                continue
            fs, fe = min(g[0] for g in near), max(g[1] for g in near)
            fcs, fce = min(g[2] for g in near), max(g[3] for g in near)
            errs += [
                _word_gap(texts[sa], ts, fs),
                _word_gap(texts[sa], te, fe),
                _word_gap(texts[sb], cs, fcs),
                _word_gap(texts[sb], ce, fce),
            ]
            inter = max(0, min(ce, fce) - max(cs, fcs))
            overlap.append(2 * inter / ((ce - cs) + (fce - fcs)))
    got_b = [e for e in errs if e is not None]
    print(
        f"passage boundaries: {len(errs)} (4 per planted passage): exact to the word "
        f"{sum(e == 0 for e in got_b) / max(1, len(errs)):.3f}, within 2 words "
        f"{sum(e <= 2 for e in got_b) / max(1, len(errs)):.3f}, within 5 words "
        f"{sum(e <= 5 for e in got_b) / max(1, len(errs)):.3f}; missing {errs.count(None)}"
    )
    print(f"copy-side passage overlap (Dice of characters), mean {sum(overlap) / max(1, len(overlap)):.3f}")
    print(f"trace stats: {res.stats.model_dump(exclude={'seconds'})}")


def ptc(root: Path, params: TraceParams, show: bool) -> None:
    from trace_ptc_labels import load

    labels_file = ROOT / "benchmarks" / "data" / "ptc_reuse_labels.tsv"
    labels = {}
    for line in labels_file.read_text(encoding="utf-8").splitlines():
        if line.startswith(("#", "a\t")):
            continue
        a, b, label, *_ = line.split("\t")
        labels[frozenset((a, b))] = label
    docs = load(root)
    t0 = time.perf_counter()
    res = trace([TraceInput(id=k, text=v) for k, v in docs.items()], params)
    secs = time.perf_counter() - t0
    found = {frozenset((lk.source, lk.copy_id)): lk for lk in res.links}
    truth = {k for k, v in labels.items() if v == "reuse"}
    weak = {k for k, v in labels.items() if v == "weak"}
    judged = {k: v for k, v in found.items() if k not in weak}
    hit = truth & set(judged)
    print(
        f"\n## PTC train+dev: {len(docs)} articles, {len(truth)} labelled reuse pairs "
        f"({len(weak)} weak pairs left out) ({secs:.1f} s)"
    )
    print("pairs:", _pr(len(hit), len(judged), len(truth)))
    wrong = collections.Counter(labels.get(k, "unlabelled (< 5 shared 5-grams)") for k in set(judged) - truth)
    print("  false links by label:", dict(wrong))
    print("  weak pairs linked:", len(weak & set(found)), "of", len(weak))
    print("  kinds of the right links:", dict(collections.Counter(found[k].kind for k in hit)))
    if show:
        for k in sorted(truth - set(found), key=sorted):
            print("  missed", *sorted(k))
        for k in sorted(set(judged) - truth, key=sorted):
            lk = found[k]
            print(
                "  extra",
                lk.source,
                lk.copy_id,
                labels.get(k),
                lk.kind,
                lk.share,
                repr(lk.passages[0].copy_text[:100]),
            )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=2000, help="synthetic articles (default 2000)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--ptc", type=Path, default=None, help="PTC folder (default: as trace_ptc_labels.py)")
    ap.add_argument("--show-errors", action="store_true")
    ap.add_argument("--min-hits", type=int, default=None, help="candidate pairs must share this many buckets")
    args = ap.parse_args()
    params = TraceParams()
    if args.min_hits is not None:
        from dataclasses import replace

        params = replace(params, lsh=replace(params.lsh, min_hits=args.min_hits))
    synthetic(args.n, args.seed, params)
    from trace_ptc_labels import default_ptc

    root = args.ptc or default_ptc()
    if (root / "train" / "articles").is_dir():
        ptc(root, params, args.show_errors)
    else:
        print(f"\nPTC not found at {root}: real-reuse evaluation skipped")


if __name__ == "__main__":
    main()
