"""Confidence bands (``confidence_counts``, store version 4): statistics and lists with a minimum confidence
on a band boundary read the precomputed counts and give exactly the numbers of the span scan, on SQLite and
PostgreSQL; ingest, copies and reanalyze keep the counts in step with the spans."""

from __future__ import annotations

import hashlib
import random

import pytest
import sqlalchemy as sa
from corpus_fixtures import pg_cluster, store_target  # noqa: F401  (fixtures)

from propscope import Article, Corpus
from propscope.corpus import Filters
from propscope.corpus import query as Q
from propscope.corpus.store import (
    BANDS,
    N_TECH,
    _daily_select,
    band_of,
    confidence_counts,
    confidence_rows,
    daily_counts,
    spans,
)
from propscope.detect.base import SpanPrediction
from propscope.techniques import TECHNIQUES

WORDS = ("the senator said that the radical plan would destroy every family in the country and the people "
         "must stand up now before it is too late for all of us").split()
EDGES = [b / BANDS for b in range(BANDS + 1)]  # confidences right on the band boundaries, 0 and 1 included


class RandomDetector:
    """Random word-aligned spans with random techniques; a third of the confidences sit exactly on a band
    boundary (where ``>=`` must count them in), the rest anywhere with 4 decimals. Seeded by the text."""

    def __init__(self, name: str = "random 1", seed: int = 0) -> None:
        self._name, self.seed = name, seed

    @property
    def name(self) -> str:
        return self._name

    def detect(self, texts):  # type: ignore[no-untyped-def]
        out = []
        for text in texts:
            rng = random.Random(f"{self.seed}:{hashlib.sha256(text.encode()).hexdigest()}")
            starts = [i for i in range(len(text)) if text[i].isalpha() and (i == 0 or text[i - 1] == " ")]
            preds = []
            for _ in range(rng.randrange(0, 25)):
                s = rng.choice(starts)
                e = text.find(" ", s)
                e = len(text) if e < 0 else e
                c = rng.choice(EDGES) if rng.random() < 0.33 else round(rng.random(), 4)
                preds.append(SpanPrediction(s, e, rng.choice(TECHNIQUES), c))
            out.append(sorted(preds, key=lambda p: (p.start, p.end, p.technique)))
        return out

    def classify(self, texts, spans_):  # type: ignore[no-untyped-def]
        return [[{t: 1.0 / len(TECHNIQUES) for t in TECHNIQUES} for _ in s] for s in spans_]


def random_articles(n: int, seed: int = 1) -> list[Article]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        body = " ".join(rng.choice(WORDS) for _ in range(rng.randrange(8, 60)))
        day = f"2020-{rng.randrange(1, 13):02d}-{rng.randrange(1, 28):02d}" if rng.random() < 0.9 else None
        out.append(Article(id=f"r{i}", title=f"Story {i}", text=f"Story {i}\n\n{body}.",
                           url=f"https://{rng.choice(['alpha.com', 'beta.org', 'gamma.net'])}/{i}",
                           published=day))
    return out


@pytest.fixture
def corpus(store_target):  # noqa: F811
    with Corpus(store_target) as c:
        c.ingest(random_articles(40), detector=RandomDetector())
        yield c


def scan(monkeypatch: pytest.MonkeyPatch, fn):  # type: ignore[no-untyped-def]
    """``fn()`` computed from one row per article and the spans themselves (no daily counts, no bands)."""
    with monkeypatch.context() as m:
        m.setattr(Q, "USE_BANDS", False)
        m.setattr(Q, "USE_DAILY", False)
        return fn()


def same(a: list[dict], b: list[dict]) -> bool:
    """Equal statistics: every count exact; the mean score (a float sum, whose order follows the query
    plan) to its last rounded digit."""
    def counts(rows: list[dict]) -> list[dict]:
        return [{k: v for k, v in r.items() if k != "mean_score"} for r in rows]

    return counts(a) == counts(b) and all(
        (x["mean_score"] is None) == (y["mean_score"] is None)
        and abs((x["mean_score"] or 0) - (y["mean_score"] or 0)) <= 1.01e-4
        for x, y in zip(a, b, strict=True))


def recount(conn: sa.Connection) -> dict[tuple[int, int], list[int]]:
    """``confidence_counts`` computed in SQL from the spans: (analysis, band) -> [n_spans, n_tech_0 ...]."""
    out: dict[tuple[int, int], list[int]] = {}
    for b in range(1, BANDS + 1):
        q = (sa.select(spans.c.analysis_id, spans.c.technique, sa.func.count())
             .where(spans.c.confidence >= b / BANDS).group_by(spans.c.analysis_id, spans.c.technique))
        for an_id, t, n in conn.execute(q):
            row = out.setdefault((an_id, b), [0] * (1 + len(N_TECH)))
            row[0] += n
            row[1 + t] += n
    return out


def stored_counts(conn: sa.Connection) -> dict[tuple[int, int], list[int]]:
    cols = [confidence_counts.c.n_spans, *[confidence_counts.c[c] for c in N_TECH]]
    return {(r[0], r[1]): list(r[2:]) for r in conn.execute(
        sa.select(confidence_counts.c.analysis_id, confidence_counts.c.band, *cols))}


def test_band_of_finds_exact_boundaries_only():
    assert [band_of(x) for x in (0.0, 0.05, 0.15, 0.3, 0.5, 0.95, 1.0)] == [0, 1, 3, 6, 10, 19, 20]
    assert [band_of(x) for x in (0.52, 0.149, 0.3000001, 0.999)] == [None] * 4
    assert band_of(float("0.7")) == 14 and 14 / BANDS == float("0.7")  # as parsed from a query string


def test_confidence_rows_count_each_span_in_every_band_it_reaches():
    rng = random.Random(3)
    pairs = [(rng.randrange(14), rng.choice(EDGES) if rng.random() < 0.5 else rng.random())
             for _ in range(500)]
    rows = {r["band"]: r for r in confidence_rows(7, pairs)}
    for b in range(1, BANDS + 1):
        want = [sum(1 for t, c in pairs if t == i and c >= b / BANDS) for i in range(14)]
        if not any(want):
            assert b not in rows
            continue
        assert [rows[b][c] for c in N_TECH] == want and rows[b]["n_spans"] == sum(want)
        assert rows[b]["analysis_id"] == 7
    assert confidence_rows(1, []) == [] and confidence_rows(1, [(0, 0.0)]) == []  # band 0 is not stored
    assert [r["band"] for r in confidence_rows(1, [(2, 1.0)])] == list(range(BANDS, 0, -1))


def test_the_stored_counts_equal_the_span_scan(corpus):
    with corpus.store.read() as conn:
        got, want = stored_counts(conn), recount(conn)
    assert got == want and len(got) > 100


BYS = [(), ("technique",), ("outlet",), ("month", "technique"), ("outlet", "technique"), ("week",),
       ("orientation", "technique")]
FILTERS = [
    {},
    {"techniques": ["loaded", "doubt"]},
    {"date_from": "2020-03", "date_to": "2020-08"},
    {"outlets": ["alpha.com", "gamma.net"], "techniques": ["slogans"]},
    {"words": "radical"},
]


@pytest.mark.parametrize("m", [0.0, 0.05, 0.5, 0.65, 1.0])
def test_stats_and_lists_on_a_band_give_the_span_scan_numbers(corpus, monkeypatch, m):
    assert band_of(m) is not None
    for extra in FILTERS:
        f = Filters.parse(min_confidence=m, **extra)
        for by in BYS:
            fast = corpus.stats(f, by=by)
            assert same(fast, scan(monkeypatch, lambda f=f, by=by: corpus.stats(f, by=by))), (m, extra, by)
        page = corpus.articles(f, sort="-score", limit=100)
        slow = scan(monkeypatch, lambda f=f: corpus.articles(f, sort="-score", limit=100))
        assert (page.total, page.rows) == (slow.total, slow.rows)
    everything = corpus.stats(Filters.parse(min_confidence=m), by=["technique"])
    assert sum(r["spans"] for r in everything) > 0 or m == 1.0


def test_between_bands_the_spans_are_read(corpus, monkeypatch):
    """0.52 is no boundary: the span scan answers, between what the bands 0.5 and 0.55 answer."""
    f = Filters.parse(min_confidence=0.52)
    assert Q._band(f) is None
    mid = corpus.stats(f, by=["technique"])
    lo = corpus.stats(Filters.parse(min_confidence=0.5), by=["technique"])
    hi = corpus.stats(Filters.parse(min_confidence=0.55), by=["technique"])
    for a, b, c in zip(lo, mid, hi, strict=True):
        assert a["spans"] >= b["spans"] >= c["spans"]
    assert same(mid, scan(monkeypatch, lambda: corpus.stats(f, by=["technique"])))


def test_copies_and_reanalyze_keep_the_counts_in_step(corpus, monkeypatch):
    first = random_articles(3)
    copies = [a.model_copy(update={"url": f"https://copy.example/{a.id}", "id": f"c{a.id}"}) for a in first]
    assert corpus.ingest(copies, detector=RandomDetector("must not run", seed=99)).added == 3
    f = Filters.parse(min_confidence=0.5)
    before = corpus.stats(f, by=["technique"])
    alpha = Filters.parse(outlets=["alpha.com"])
    corpus.reanalyze(detector=RandomDetector("random 2", seed=5), filters=alpha)
    after = corpus.stats(f, by=["technique"])
    assert after != before
    assert same(after, scan(monkeypatch, lambda: corpus.stats(f, by=["technique"])))
    with corpus.store.read() as conn:
        assert stored_counts(conn) == recount(conn)  # old analyses kept with their counts
    corpus.reanalyze(detector=RandomDetector("random 3", seed=6), drop_old=True)
    with corpus.store.read() as conn:
        got = stored_counts(conn)
        assert got == recount(conn)
        current = set(conn.exec_driver_sql("SELECT id FROM analyses").scalars())
    assert {an for an, _ in got} <= current  # the rows of dropped analyses went with them
    for by in BYS:
        assert same(corpus.stats(f, by=by), scan(monkeypatch, lambda by=by: corpus.stats(f, by=by)))


def daily_now(conn: sa.Connection) -> dict[tuple[str, int], tuple]:
    """``daily_counts`` as stored (groups left at 0 articles dropped; score sums to 9 decimals)."""
    return {(r[0], r[1]): (*r[2:4], round(r[4], 9), *r[5:]) for r in conn.execute(sa.select(daily_counts))
            if r.articles}


def daily_recount(conn: sa.Connection) -> dict[tuple[str, int], tuple]:
    return {(r[0], r[1]): (*r[2:4], round(r[4], 9), *r[5:]) for r in conn.execute(_daily_select(conn))}


DAILY_FILTERS = [*FILTERS[:4], {"techniques": ["doubt"]}, {"date_to": "2020-06"},
                 {"orientations": ["left"]}, {"date_from": "2020-11-15"}]


def check_daily(corpus: Corpus, monkeypatch: pytest.MonkeyPatch) -> None:
    with corpus.store.read() as conn:
        assert daily_now(conn) == daily_recount(conn)
    for extra in DAILY_FILTERS:
        f = Filters.parse(**extra)
        for by in [*BYS, ("day",), ("year", "outlet"), ("month", "orientation", "technique")]:
            got = corpus.stats(f, by=by)
            assert same(got, scan(monkeypatch, lambda f=f, by=by: corpus.stats(f, by=by))), (extra, by)


def test_daily_counts_give_the_per_article_numbers(corpus, monkeypatch):
    """Statistics without words or a minimum confidence read ``daily_counts``: the same numbers as one row
    per article, also after copies, reanalyze and --drop-old."""
    calls: list[int] = []
    daily_query = Q._daily_query
    monkeypatch.setattr(Q, "_daily_query", lambda *a: calls.append(1) or daily_query(*a))
    corpus.stats(Filters.parse(techniques=["doubt"], date_from="2020-02"), by=["outlet"])
    corpus.stats(by=["month", "technique"])
    assert len(calls) == 2  # the daily counts answered
    corpus.stats(Filters.parse(words="radical"), by=["month"])
    corpus.stats(Filters.parse(techniques=["doubt", "slogans"]))  # articles with either: per article
    assert len(calls) == 2
    check_daily(corpus, monkeypatch)
    first = random_articles(4)
    copies = [a.model_copy(update={"url": f"https://copy.example/{a.id}", "id": f"c{a.id}"}) for a in first]
    corpus.ingest(copies, detector=RandomDetector("must not run", seed=99))
    corpus.reanalyze(detector=RandomDetector("random 2", seed=5), filters=Filters.parse(outlets=["beta.org"]))
    check_daily(corpus, monkeypatch)
    corpus.reanalyze(detector=RandomDetector("random 3", seed=6), drop_old=True)
    check_daily(corpus, monkeypatch)
