"""The corpus store on SQLite and PostgreSQL: idempotent ingest, outlets, filters, stats against a corpus
computed by hand, top/search/lists, export, and bad inputs (not a database, newer schema, locked store)."""

from __future__ import annotations

import csv
import json
import sqlite3
import subprocess
import sys

import pytest
from conftest import FakeDetector
from corpus_fixtures import pg_cluster, store_target  # noqa: F401  (fixtures)

from propscope import Article, Corpus
from propscope.corpus import Filters
from propscope.corpus.filters import FilterError, parse_technique
from propscope.corpus.store import SCHEMA_VERSION, StoreError

NC, LL, FEAR = "Name_Calling,Labeling", "Loaded_Language", "Appeal_to_fear-prejudice"


def hand_corpus() -> list[tuple[Article, str | None]]:
    """Four articles whose FakeDetector spans, words and scores are worked out by hand below."""
    return [
        # words 9; spans: terrorist, terrorists (NC 0.9); sentences 0, 0.9, 0.9; score: 47 non-space
        # characters, 9 + 10 of them in spans at 0.9 -> 17.1 / 47 = 0.3638
        (
            Article(
                id="a1",
                text="Alpha one\n\nThe terrorist left. The terrorists came back.",
                title="Alpha one",
                url="https://www.alpha.com/1",
                published="2020-01-06",
            ),
            None,
        ),
        # words 7; spans: wisen up (LL 0.75); sentences 0, 0.75; score: 29 non-space characters, 7 in the
        # span at 0.75 -> 5.25 / 29 = 0.181
        (
            Article(
                id="a2",
                text="Alpha two\n\nThey should wisen up now.",
                title="Alpha two",
                url="https://news.alpha.com/2",
                published="2020-01-08T10:00:00Z",
            ),
            None,
        ),
        # words 6; no spans; score 0; no URL, no site: the fallback outlet
        (
            Article(
                id="a3",
                text="Beta three\n\nNothing to see here.",
                title="Beta three",
                published="Mon, 03 Feb 2020 08:00:00 +0000",
            ),
            "Beta Daily",
        ),
        # words 14; spans: terrorists, terrorist (NC 0.9) and the phrase (FEAR 0.6) in one sentence:
        # 1 - 0.1 * 0.1 * 0.4 = 0.996; sentences 0, 0.996; score: 75 non-space characters, "terrorists" (10)
        # and "terrorist" (9) at 0.9, the other 37 of the phrase at 0.6 -> 39.3 / 75 = 0.524; the date
        # cannot be parsed
        (
            Article(
                id="a4",
                text="Gamma four\n\nterrorists use civilians as shields like they always do, "
                "and terrorist again.",
                title="Gamma four",
                url="https://gamma.org/4",
                site="Gamma News",
                published="sometime last spring",
            ),
            None,
        ),
    ]


def fill(corpus: Corpus, det: FakeDetector | None = None):
    det = det or FakeDetector()
    reports = [corpus.ingest([a], detector=det, outlet=o) for a, o in hand_corpus()]
    return det, reports


@pytest.fixture
def corpus(store_target):  # noqa: F811
    with Corpus(store_target) as c:
        yield c


def test_ingest_is_idempotent_and_identifies_by_url_else_hash(corpus):
    det, reports = fill(corpus)
    assert [r.added for r in reports] == [1, 1, 1, 1] and corpus.count() == 4
    assert reports[3].warnings and "sometime last spring" in reports[3].warnings[0]
    calls = len(det.batches)
    again = corpus.ingest([a for a, _ in hand_corpus()], detector=det)
    assert (again.added, again.skipped, again.read) == (0, 4, 4)
    assert len(det.batches) == calls, "stored articles must not be analysed again"
    a1 = hand_corpus()[0][0]
    same_url = a1.model_copy(update={"text": a1.text + " Updated."})
    same_text = a1.model_copy(update={"url": "https://elsewhere.net/copy", "id": "copy"})
    fresh = a1.model_copy(update={"url": None, "text": "Fresh\n\nNew text here.", "id": "new"})
    calls = len(det.batches)
    r = corpus.ingest([same_url, same_text, fresh, fresh], detector=det)
    # same URL: skipped; same text, new URL: its own article; no URL, same text twice: stored once
    assert (r.added, r.skipped) == (2, 2) and corpus.count() == 6
    assert corpus.has_url("https://www.alpha.com/1") and corpus.has_url("https://elsewhere.net/copy")
    assert det.batches[calls:] == [1], "only the fresh text is analysed; the copy's analysis is copied"
    by_id = {s.article.id: s for s in corpus.iter_articles()}
    orig, copy = corpus.article(by_id["a1"].id), corpus.article(by_id["copy"].id)
    assert copy.analysis.article.url == "https://elsewhere.net/copy" and copy.outlet == "elsewhere.net"
    assert [(s.start, s.end, s.technique, s.confidence) for s in copy.analysis.spans] == [
        (s.start, s.end, s.technique, s.confidence) for s in orig.analysis.spans]
    assert copy.analysis.spans and copy.analysis.score == orig.analysis.score
    assert copy.analysis.sentences == orig.analysis.sentences and copy.analysis.model == orig.analysis.model
    again = corpus.ingest([same_text, fresh], detector=det)
    assert (again.added, again.skipped) == (0, 2)


def test_outlets_dates_and_full_analysis_round_trip(corpus):
    fill(corpus)
    outlets = {o.name: o for o in corpus.outlets()}
    assert {n: o.articles for n, o in outlets.items()} == {"alpha.com": 2, "Beta Daily": 1, "Gamma News": 1}
    stored = {s.article.id: s for s in corpus.iter_articles()}
    assert stored["a2"].outlet == "alpha.com" and str(stored["a2"].published) == "2020-01-08"
    assert str(stored["a3"].published) == "2020-02-03" and stored["a4"].published is None
    full = corpus.article(stored["a4"].id)
    assert full is not None and full.outlet == "Gamma News"
    an = full.analysis
    assert an.article.text == hand_corpus()[3][0].text and an.model == "fake-test-detector 0"
    assert [(s.technique, s.text) for s in an.spans] == [
        (NC, "terrorists"),
        (FEAR, "terrorists use civilians as shields like they always do"),
        (NC, "terrorist"),
    ]
    assert [(s.score, s.n_spans) for s in an.sentences] == [(0.0, 0), (0.996, 3)] and an.score == 0.524
    assert corpus.article(10_000) is None


def _row(rows, **key):
    hits = [r for r in rows if all(r[k] == v for k, v in key.items())]
    assert len(hits) == 1, (key, rows)
    return hits[0]


def test_stats_match_the_hand_computed_figures(corpus):
    fill(corpus)
    by_outlet = corpus.stats(by=["outlet"])
    assert [r["outlet"] for r in by_outlet] == ["Beta Daily", "Gamma News", "alpha.com"]
    alpha = _row(by_outlet, outlet="alpha.com")
    assert (alpha["articles"], alpha["articles_with"], alpha["share"], alpha["spans"], alpha["words"]) == (
        2,
        2,
        1.0,
        3,
        16,
    )
    assert alpha["spans_per_1k_words"] == 187.5 and alpha["mean_score"] == pytest.approx((0.3638 + 0.181) / 2)
    gamma = _row(by_outlet, outlet="Gamma News")
    assert (gamma["spans"], gamma["words"], gamma["spans_per_1k_words"]) == (3, 14, 214.286)
    beta = _row(by_outlet, outlet="Beta Daily")
    assert (beta["articles_with"], beta["share"], beta["spans"], beta["mean_score"]) == (0, 0.0, 0, 0.0)

    by_tech = corpus.stats(by=["technique"])
    assert len(by_tech) == 14
    nc = _row(by_tech, technique=NC)
    assert (nc["articles"], nc["articles_with"], nc["share"], nc["spans"], nc["words"]) == (4, 2, 0.5, 4, 36)
    assert nc["spans_per_1k_words"] == 111.111
    assert nc["mean_score"] == pytest.approx((0.3638 + 0.181 + 0 + 0.524) / 4, abs=1e-4)
    assert _row(by_tech, technique=LL)["spans"] == 1 and _row(by_tech, technique="Slogans")["spans"] == 0

    (overall,) = corpus.stats()
    assert (overall["articles"], overall["articles_with"], overall["spans"], overall["words"]) == (
        4,
        3,
        6,
        36,
    )

    by_month = corpus.stats(by=["month"])
    assert [(r["month"], r["articles"], r["spans"]) for r in by_month] == [
        ("(unknown)", 1, 3),
        ("2020-01", 2, 3),
        ("2020-02", 1, 0),
    ]
    by_week = corpus.stats(by=["week", "technique"], filters=Filters.parse(date_from="2020-01"))
    assert {(r["week"], r["technique"]): r["spans"] for r in by_week if r["spans"]} == {
        ("2020-01-06", NC): 2,
        ("2020-01-06", LL): 1,
    }

    confident = corpus.stats(filters=Filters.parse(min_confidence=0.8))[0]
    assert (confident["spans"], confident["articles_with"], confident["articles"]) == (4, 2, 4)
    loaded = corpus.stats(by=["outlet", "technique"], filters=Filters.parse(techniques=["loaded"]))
    assert len(loaded) == 3 and _row(loaded, outlet="alpha.com")["spans"] == 1
    dated = corpus.stats(by=["outlet"], filters=Filters.parse(date_from="2020-01-07", date_to="2020-02"))
    assert [(r["outlet"], r["articles"]) for r in dated] == [("Beta Daily", 1), ("alpha.com", 1)]


def test_outlets_import_gives_orientation_filters(corpus, tmp_path):
    fill(corpus)
    f = tmp_path / "outlets.csv"
    f.write_text(
        "name,domain,country,allsides_bias,mbfc_factuality\n"
        "Alpha Times,www.alpha.com,US,left,high\nGamma News,gamma.org,UK,right,\n"
        "Delta,delta.net,,center,low\n,nameless.org,,left,\n",
        encoding="utf-8",
    )
    report, problems = corpus.import_outlets(f)
    assert (report.added, report.updated, report.skipped) == (1, 2, 1) and "outlets.csv:5" in problems[0]
    outlets = {o.name: o for o in corpus.outlets()}
    assert outlets["Alpha Times"].articles == 2 and outlets["Alpha Times"].extra == {
        "mbfc_factuality": "high"
    }
    assert outlets["Gamma News"].country == "UK" and "alpha.com" not in outlets
    left = corpus.stats(filters=Filters.parse(orientations=["LEFT"]))[0]
    assert (left["articles"], left["spans"]) == (2, 3)
    assert [r.title for r in corpus.top(Filters.parse(orientations=["right", "left"]), n=2)] == [
        "Gamma four",
        "Alpha one",
    ]
    assert corpus.stats(filters=Filters.parse(outlets=["gamma.org"]))[0]["articles"] == 1
    # later articles from a registered outlet's domain join it
    corpus.ingest(
        [Article(id="a5", text="Alpha five\n\nMore news.", url="https://alpha.com/5")],
        detector=FakeDetector(),
    )
    assert {o.name: o.articles for o in corpus.outlets()}["Alpha Times"] == 3


def test_top_search_lists_and_pages(corpus):
    fill(corpus)
    assert [(r.title, r.score) for r in corpus.top(n=2)] == [("Gamma four", 0.524), ("Alpha one", 0.3638)]
    assert [r.title for r in corpus.top(Filters.parse(techniques=["fear"]))] == ["Gamma four"]
    hits = corpus.search("terrorist")
    assert {r.title for r in hits} == {"Alpha one", "Gamma four"} and all(r.rank is not None for r in hits)
    assert [r.title for r in corpus.search('"wisen up"')] == ["Alpha two"]
    assert [r.title for r in corpus.search("terrorist", Filters.parse(outlets=["Gamma News"]))] == [
        "Gamma four"
    ]
    assert corpus.search("absent-word-xyz") == [] and corpus.search('" "') == []
    assert corpus.stats(filters=Filters.parse(words='""'))[0]["articles"] == 0
    assert corpus.stats(filters=Filters.parse(words="nothing"))[0]["articles"] == 1
    page = corpus.articles(sort="-score", offset=1, limit=2)
    assert page.total == 4 and [r.title for r in page.rows] == ["Alpha one", "Alpha two"]
    page = corpus.articles(Filters.parse(techniques=[NC]), sort="published")
    assert page.total == 2 and [r.title for r in page.rows] == ["Alpha one", "Gamma four"]
    df = corpus.top(n=4).to_pandas()
    assert list(df["title"])[:2] == ["Gamma four", "Alpha one"] and len(df) == 4


def test_export_articles_spans_sentences(corpus, tmp_path):
    fill(corpus)
    n = corpus.export(tmp_path / "a.csv", filters=Filters.parse(outlets=["alpha.com"]))
    rows = list(csv.DictReader(open(tmp_path / "a.csv", encoding="utf-8")))
    assert n == 2 and {r["url"] for r in rows} == {"https://www.alpha.com/1", "https://news.alpha.com/2"}
    r1 = next(r for r in rows if r["ext_id"] == "a1")
    assert (r1["outlet"], r1["published"], r1["score"], r1[NC], r1[LL]) == (
        "alpha.com",
        "2020-01-06",
        "0.3638",
        "2",
        "0",
    )
    assert corpus.export(tmp_path / "s.jsonl", what="spans") == 6
    spans = [json.loads(x) for x in open(tmp_path / "s.jsonl", encoding="utf-8")]
    assert {(s["technique"], s["text"]) for s in spans if s["outlet"] == "alpha.com"} == {
        (NC, "terrorist"),
        (NC, "terrorists"),
        (LL, "wisen up"),
    }
    pq = pytest.importorskip("pyarrow.parquet")
    assert corpus.export(tmp_path / "x.parquet", what="sentences") == 9
    table = pq.read_table(tmp_path / "x.parquet").to_pylist()
    assert max(r["score"] for r in table) == 0.996 and {r["text"] for r in table} >= {"Nothing to see here."}
    with pytest.raises(ValueError, match="cannot tell the format"):
        corpus.export(tmp_path / "x.xlsx")


def test_filters_parse_once_and_say_what_is_wrong():
    f = Filters.parse(
        date_from="2020",
        date_to="2020-02",
        techniques=["loaded", "Name calling"],
        min_confidence="0.5",
        outlets="cnn.com",
    )
    assert (str(f.date_from), str(f.date_to)) == ("2020-01-01", "2020-02-29")
    assert f.techniques == (LL, NC) and f.outlets == ("cnn.com",) and f.min_confidence == 0.5
    assert Filters.from_query({"from": "2020-01-02", "technique": ["doubt"], "search": "x"}) == Filters.parse(
        date_from="2020-01-02", techniques=["Doubt"], words="x"
    )
    assert parse_technique("whatabout") == "Whataboutism,Straw_Men,Red_Herring"
    for bad, msg in [
        ({"date_from": "yesterday"}, "--from 'yesterday'"),
        ({"techniques": ["appeal"]}, "ambiguous"),
        ({"techniques": ["lies"]}, "unknown"),
        ({"min_confidence": 2}, "between 0 and 1"),
        ({"date_from": "2021", "date_to": "2020"}, "after"),
    ]:
        with pytest.raises(FilterError, match=msg):
            Filters.parse(**bad)


def test_reanalyze_keeps_or_drops_older_analyses(corpus):
    fill(corpus)

    class Other(FakeDetector):
        @property
        def name(self) -> str:
            return "other 1"

    assert corpus.reanalyze(detector=Other(), filters=Filters.parse(outlets=["alpha.com"])) == 2
    a1 = next(s for s in corpus.iter_articles() if s.article.id == "a1")
    full = corpus.article(a1.id)
    assert full.analysis.model == "other 1" and full.history == ["fake-test-detector 0"]
    assert corpus.stats()[0]["spans"] == 6  # only current analyses count
    corpus.reanalyze(detector=Other(), drop_old=True)
    assert corpus.article(a1.id).history == []


# --- bad inputs --------------------------------------------------------------------------------


def test_a_file_that_is_not_a_database_is_refused(tmp_path):
    bad = tmp_path / "notes.txt"
    bad.write_text("this is not a database\n" * 200)
    with pytest.raises(StoreError, match=r"notes\.txt: not a propscope store"):
        Corpus(bad)
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.commit()
    with pytest.raises(StoreError, match="not a propscope store .*other tables: t"):
        Corpus(other)
    assert bad.read_text().startswith("this is not a database")


def test_a_newer_store_is_refused_with_a_clear_message(tmp_path):
    db = tmp_path / "new.db"
    Corpus(db).close()
    con = sqlite3.connect(db)
    con.execute("UPDATE propscope_meta SET value = '99' WHERE key = 'schema_version'")
    con.commit()
    con.close()
    with pytest.raises(
        StoreError,
        match=r"new\.db: the store has schema version 99, newer than this propscope "
        rf"supports \({SCHEMA_VERSION}\); upgrade propscope",
    ):
        Corpus(db)


def test_a_locked_store_fails_cleanly_and_keeps_what_was_committed(tmp_path):
    db = tmp_path / "busy.db"
    with Corpus(db, busy_timeout=0.2) as c:
        c.ingest([hand_corpus()[0][0]], detector=FakeDetector())
        other = sqlite3.connect(db, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        try:
            with pytest.raises(StoreError, match=r"busy\.db: the store is locked by another writer"):
                c.ingest([hand_corpus()[1][0]], detector=FakeDetector())
            assert c.count() == 1  # readers go on while another writer holds the lock (WAL)
        finally:
            other.execute("ROLLBACK")
            other.close()
        assert c.ingest([a for a, _ in hand_corpus()[:2]], detector=FakeDetector()).added == 1


def test_import_propscope_does_not_load_sqlalchemy():
    code = (
        "import sys, propscope; assert 'sqlalchemy' not in sys.modules; "
        "import propscope.corpus; assert 'sqlalchemy' not in sys.modules; "
        "from propscope.cli import _register; _register(); assert 'sqlalchemy' not in sys.modules; "
        "propscope.Corpus; assert 'sqlalchemy' in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
