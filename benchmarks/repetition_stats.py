"""How PTC labels Repetition: for every distinct gold span, does its phrase occur earlier in the article?

    python benchmarks/repetition_stats.py ../shared/data/ptc

Uses the same whole-word matching as the detector (``DocFeatures.repeats``).
"""

import sys
from collections import Counter
from pathlib import Path

from propscope.detect.features import DocFeatures
from propscope.ptc import load_split

root = Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data/ptc")
for split in ("train", "dev"):
    counts: Counter[tuple[bool, str]] = Counter()
    for doc in load_split(root / split):
        groups: dict[tuple[int, int], set[str]] = {}
        for x in doc.tc:
            groups.setdefault((x.start, x.end), set()).add(x.technique)
        feats = DocFeatures(doc.text)
        for (s, e), techs in groups.items():
            earlier, later = feats.repeats(s, e)
            where = "earlier" if earlier else "only later" if later else "nowhere else"
            counts[("Repetition" in techs, where)] += 1
    for rep in (True, False):
        total = sum(v for (r, _), v in counts.items() if r == rep)
        parts = ", ".join(f"{w} {counts[(rep, w)]}" for w in ("earlier", "only later", "nowhere else"))
        label = "Repetition spans" if rep else "other spans"
        print(f"{split}: {total} {label}; phrase occurs {parts}")
