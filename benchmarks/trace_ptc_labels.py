"""Make the labelled PTC reuse pairs (benchmarks/data/ptc_reuse_labels.tsv) from PTC train+dev.

How the labels are made (docs/trace.md has the full account):

1. Candidates: every pair of PTC train+dev articles sharing at least 5 word 5-grams (5-grams found in at most
   50 articles), 1,646 pairs.
2. Boilerplate lines: a line (its words, case-folded) found in 5 or more articles (poll widgets, sign-up
   boxes, author notes) is removed from both texts; so are the site furniture phrases listed in BOILERPLATE,
   found by reading the shared runs (book adverts, "article posted with permission from ...", newsletter boxes
   ...).
3. The remaining shared runs of at least 5 words (difflib matching blocks on the word sequences) decide:
   ``reuse`` when the longest run has at least 15 words or the runs total at least 40 words; ``weak`` when the
   longest has 10-14 words (a short shared quotation or statement: left out of precision and recall);
   ``boilerplate`` when runs were found before step 2 but none survive it; ``none`` otherwise (stock phrases
   such as "white house press secretary sarah sanders").
4. The shared runs of every candidate were read by eye (the listing this script prints with --show); the
   phrases in BOILERPLATE and the overrides in OVERRIDES are the corrections that reading called for.

Usage: python benchmarks/trace_ptc_labels.py [--ptc ../shared/data/ptc] [--show]
"""

from __future__ import annotations

import argparse
import collections
import difflib
import itertools
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "data" / "ptc_reuse_labels.tsv"

BOILERPLATE = [
    "take our poll story continues below",
    "needs no introduction to vdare com",
    "best price",
    "buy new",
    "article posted with permission from",
    "reprinted with permission from",
    "originally published by",
    "this field is for validation purposes",
    "sign up",
    "newsletters",
    "cryptocurrency donations",
    "best photos of the week",
    "subscribe on youtube",
    "the history of jihad from muhammad to isis",
    "copyright 2018 creators com",
    "distributed by tribune",
    "keep up with this story and more by subscribing",
]
"""Site furniture found by reading the shared runs: a run holding one of these is not story text."""

OVERRIDES: dict[tuple[str, str], str] = {
    (
        "772836731",
        "781672902",
    ): "none",  # runs are stock phrases ("the president of the united states") and ads
    ("761969038", "761969692"): "boilerplate",  # the same monthly table template of one outlet
    ("734265267", "741896049"): "weak",  # two ICE press releases sharing template sentences
}
"""Pairs whose label the rule got wrong, found by reading the shared runs of every candidate."""

EXTRA: dict[tuple[str, str], str] = {
    ("999000124", "999000125"): "reuse",  # the Nimesh Patel story reworded: fewer than 5 shared 5-grams
    ("999000124", "999001970"): "reuse",  # same story
}
"""Pairs outside the candidates, found by reading the links the tracer reported beyond them (pooling)."""


def default_ptc() -> Path:
    """$PROPSCOPE_PTC, else ../shared/data/ptc beside the clone, else /work/shared/data/ptc."""
    import os

    for p in (
        os.environ.get("PROPSCOPE_PTC"),
        ROOT.parent / "shared" / "data" / "ptc",
        Path("/work/shared/data/ptc"),
    ):
        if p and Path(p).is_dir():
            return Path(p)
    return ROOT.parent / "shared" / "data" / "ptc"


def load(ptc: Path) -> dict[str, str]:
    docs = {}
    for split in ("train", "dev"):
        for f in sorted((ptc / split / "articles").glob("article*.txt")):
            docs[f.stem[len("article") :]] = f.read_text(encoding="utf-8")
    return docs


def _norm(line: str) -> str:
    return " ".join(re.findall(r"\w+", line.lower()))


def label_pairs(docs: dict[str, str]) -> list[dict]:
    words = {k: re.findall(r"\w+", v.lower()) for k, v in docs.items()}
    inv: dict[tuple, set[str]] = collections.defaultdict(set)
    for k, w in words.items():
        for g in set(zip(*[w[i:] for i in range(5)], strict=False)):
            inv[g].add(k)
    shared: collections.Counter = collections.Counter()
    for ks in inv.values():
        if 1 < len(ks) <= 50:
            shared.update(itertools.combinations(sorted(ks), 2))
    df: collections.Counter = collections.Counter()
    for v in docs.values():
        df.update({n for n in map(_norm, v.split("\n")) if len(n.split()) >= 3})
    common = {n for n, c in df.items() if c >= 5}
    clean = {
        k: re.findall(r"\w+", " \n ".join(x for x in v.split("\n") if _norm(x) not in common).lower())
        for k, v in docs.items()
    }
    rows = []
    for (a, b), n5 in sorted(shared.items()):
        if n5 < 5:
            continue
        sm = difflib.SequenceMatcher(None, clean[a], clean[b], autojunk=False)
        runs = [" ".join(clean[a][m.a : m.a + m.size]) for m in sm.get_matching_blocks() if m.size >= 5]
        runs = [r for r in runs if not any(bp in r for bp in BOILERPLATE)]
        lens = sorted((len(r.split()) for r in runs), reverse=True)
        longest, total = (lens[0] if lens else 0), sum(lens)
        if longest >= 15 or total >= 40:
            label = "reuse"
        elif longest >= 10:
            label = "weak"
        elif not runs:
            label = "boilerplate"
        else:
            label = "none"
        label = OVERRIDES.get((a, b), label)
        top = max(runs, key=len) if runs else ""
        rows.append(dict(a=a, b=b, label=label, shared5=n5, longest=longest, total=total, run=top[:120]))
    for (a, b), label in EXTRA.items():
        rows.append(dict(a=a, b=b, label=label, shared5=shared.get((a, b), 0), longest=0, total=0, run=""))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ptc", type=Path, default=default_ptc())
    ap.add_argument("--show", action="store_true", help="print every candidate with its longest shared run")
    args = ap.parse_args()
    rows = label_pairs(load(args.ptc))
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with OUT.open("w", encoding="utf-8") as f:
        f.write("# PTC train+dev reuse labels; made by benchmarks/trace_ptc_labels.py (see its docstring)\n")
        f.write("a\tb\tlabel\tshared_5grams\tlongest_run\tshared_words\n")
        for r in rows:
            f.write(f"{r['a']}\t{r['b']}\t{r['label']}\t{r['shared5']}\t{r['longest']}\t{r['total']}\n")
    counts = collections.Counter(r["label"] for r in rows)
    print(f"{len(rows)} candidate pairs: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    if args.show:
        for r in sorted(rows, key=lambda r: -r["total"]):
            print(r["a"], r["b"], r["label"], r["longest"], r["total"], "|", r["run"])


if __name__ == "__main__":
    main()
