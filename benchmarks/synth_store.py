"""Build a SYNTHETIC corpus store for the query benchmarks: PTC texts with random outlets, dates and spans.

    python benchmarks/synth_store.py --out /tmp/synth.db                     # 100,000 articles, ~3M spans
    python benchmarks/synth_store.py --out /tmp/small.db --articles 5000

NO MODEL RUNS: every article is a PTC text (train + dev, ../shared/data/ptc) with a numbered line added so
that its hash differs, a random outlet (40 synthetic outlets with an orientation) and a random date
(2018-2024); its spans are random word-aligned ranges with techniques drawn in PTC's proportions and random
confidences; sentences and scores come from propscope.detect.scores as in a real analysis. The store has the
real schema and indexes (created by propscope), so query timings carry over; the figures are NOT
propscope's detections.
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))

from propscope.corpus.ingest import content_hash, count_words  # noqa: E402
from propscope.corpus.store import (  # noqa: E402
    N_TECH,
    analyses,
    article_texts,
    articles,
    confidence_counts,
    confidence_rows,
    open_store,
    outlets,
    sentences,
    spans,
    update_daily,
)
from propscope.detect.scores import article_score, score_sentences  # noqa: E402
from propscope.techniques import TECHNIQUES  # noqa: E402

PTC = next((p / "shared" / "data" / "ptc" for p in (REPO.parent, REPO.parent.parent)
            if (p / "shared" / "data" / "ptc").is_dir()), REPO.parent / "shared" / "data" / "ptc")
# PTC train span counts per technique (labels-tc.tsv), in TECHNIQUES order: the draw follows them
WEIGHTS = [144, 294, 72, 107, 209, 493, 466, 229, 2123, 1058, 621, 129, 76, 107]
assert len(WEIGHTS) == len(TECHNIQUES)
ORIENTATIONS = ["left", "left-center", "center", "right-center", "right"]
_WORD = re.compile(r"\w+")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True, help="SQLite file to create (must not exist)")
    ap.add_argument("--articles", type=int, default=100_000)
    ap.add_argument("--spans", type=float, default=30.0, help="mean spans per article (default 30)")
    ap.add_argument("--ptc", default=str(PTC), help="PTC root with train/, dev/ (default ../shared/data/ptc)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--batch", type=int, default=2000)
    args = ap.parse_args()
    out = Path(args.out)
    if out.exists():
        sys.exit(f"error: {out}: exists; give a new file")
    texts = [p.read_text(encoding="utf-8") for p in sorted(Path(args.ptc).glob("*/articles/article*.txt"))]
    if not texts:
        sys.exit(f"error: {args.ptc}: no PTC articles found (train/articles, dev/articles)")
    rng = random.Random(args.seed)
    print(f"SYNTHETIC store, no model runs: {args.articles:,} articles from {len(texts)} PTC texts, random "
          f"outlets, dates and spans (about {args.spans:g} per article) -> {out}", file=sys.stderr)
    store = open_store(out)
    t0 = time.perf_counter()
    with store.write() as conn:
        conn.execute(outlets.insert(), [
            {"id": i + 1, "name": f"Outlet {i + 1:02d}", "domain": f"outlet{i + 1:02d}.example",
             "country": rng.choice(["US", "UK", "CA", "AU"]), "orientation": ORIENTATIONS[i % 5]}
            for i in range(40)])
    words_of = [[(m.start(), m.end()) for m in _WORD.finditer(t)] for t in texts]
    start_day = date(2018, 1, 1).toordinal()
    n_spans = 0
    now = datetime.now().replace(microsecond=0)
    sid = nid = 1
    for first in range(0, args.articles, args.batch):
        arts, ans, sps, sens, fts, bands = [], [], [], [], [], []
        for aid in range(first + 1, min(args.articles, first + args.batch) + 1):
            k = rng.randrange(len(texts))
            title, _, body = texts[k].partition("\n")
            prefix = f"{title.strip()}\n\nSynthetic copy {aid}.\n"
            text = prefix + body.lstrip("\n")
            shift = len(prefix) - (len(texts[k]) - len(body.lstrip("\n")))
            words = [(s + shift, e + shift) for s, e in words_of[k] if s + shift >= len(prefix)]
            found = []
            for _ in range(max(0, int(rng.gauss(args.spans, args.spans / 3)))):
                if not words:
                    break
                i = rng.randrange(len(words))
                j = min(len(words) - 1, i + rng.choice([0, 0, 1, 2, 3, 5, 8]))
                found.append((words[i][0], words[j][1], rng.choices(range(14), WEIGHTS)[0],
                              round(rng.uniform(0.3, 0.99), 4)))
            found.sort()
            triples = [(s, e, c) for s, e, _, c in found]
            scored = score_sentences(text, triples)
            published = date.fromordinal(start_day + rng.randrange(7 * 365))
            arts.append({"id": aid, "url": f"https://outlet{(aid % 40) + 1:02d}.example/a/{aid}",
                         "content_hash": content_hash(text), "outlet_id": (aid % 40) + 1,
                         "ext_id": f"synth{aid}", "title": title.strip(), "published": published.isoformat(),
                         "published_date": published, "author": None, "site": None, "source": "synthetic",
                         "format": "text", "words": count_words(text), "cleaning": None,
                         "ingested_at": now + timedelta(seconds=aid)})
            fts.append((aid, text))
            per_tech = [0] * len(TECHNIQUES)
            for _, _, t, _ in found:
                per_tech[t] += 1
            ans.append({"id": aid, "article_id": aid, "model": "synthetic (no model)", "current": True,
                        "score": article_score(text, triples), "n_spans": len(found), "created_at": now,
                        **dict(zip(N_TECH, per_tech, strict=True))})
            bands += confidence_rows(aid, [(t, c) for _, _, t, c in found])
            for s, e, t, c in found:
                sps.append({"id": sid, "analysis_id": aid, "start": s, "end": e, "technique": t,
                            "confidence": c})
                sid += 1
            for x in scored:
                sens.append({"id": nid, "analysis_id": aid, "start": x.start, "end": x.end, "score": x.score,
                             "n_spans": x.n_spans})
                nid += 1
            n_spans += len(found)
        with store.write() as conn:
            conn.execute(articles.insert(), arts)
            conn.execute(article_texts.insert(), [{"id": i, "text": t} for i, t in fts])
            conn.exec_driver_sql("INSERT INTO articles_fts(rowid, text) VALUES (?, ?)", fts)
            conn.execute(analyses.insert(), ans)
            conn.execute(spans.insert(), sps)
            if bands:
                conn.execute(confidence_counts.insert(), bands)
            conn.execute(sentences.insert(), sens)
        done = first + len(arts)
        print(f"\r{done:,} articles, {n_spans:,} spans, {time.perf_counter() - t0:.0f} s", end="",
              file=sys.stderr)
    with store.write() as conn:
        update_daily(conn, None, 1)
        conn.exec_driver_sql("ANALYZE")
    store.close()
    size = sum(p.stat().st_size for p in out.parent.glob(out.name + "*"))
    print(f"\nSYNTHETIC store (no model runs): {args.articles:,} articles, {n_spans:,} spans, "
          f"{size / 1e6:,.0f} MB ({size / args.articles:,.0f} bytes per article) in "
          f"{time.perf_counter() - t0:.0f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
