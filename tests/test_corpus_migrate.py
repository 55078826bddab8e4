"""Schema migration: a store made by schema version 1 (its DDL frozen below) opens in today's propscope,
is migrated forward with its data, and ends up with the same tables and columns as a fresh store."""

from __future__ import annotations

import sqlalchemy as sa
from conftest import FakeDetector
from corpus_fixtures import pg_cluster, store_target  # noqa: F401  (fixtures)

from propscope import Article, Corpus
from propscope.corpus.store import SCHEMA_VERSION, open_store

# Schema version 1, exactly as propscope wrote it (SQLite dialect; PostgreSQL gets SERIAL and TIMESTAMP).
# Version 2 added full-text search (FTS5 table articles_fts / a GIN index). Never edit: it is history.
V1_DDL = """
CREATE TABLE propscope_meta ("key" VARCHAR(64) NOT NULL, value TEXT NOT NULL, PRIMARY KEY ("key"));
CREATE TABLE outlets (id INTEGER NOT NULL, name TEXT NOT NULL, domain TEXT, country TEXT, orientation TEXT,
    extra TEXT, PRIMARY KEY (id), UNIQUE (name));
CREATE INDEX ix_outlets_orientation ON outlets (orientation);
CREATE INDEX ix_outlets_domain ON outlets (domain);
CREATE TABLE articles (id INTEGER NOT NULL, url TEXT, content_hash VARCHAR(64) NOT NULL,
    outlet_id INTEGER, ext_id TEXT NOT NULL, title TEXT, published TEXT, published_date DATE, author TEXT,
    site TEXT, source TEXT, format TEXT, text TEXT NOT NULL, words INTEGER NOT NULL, cleaning TEXT,
    ingested_at DATETIME NOT NULL,
    PRIMARY KEY (id), UNIQUE (url), UNIQUE (content_hash), FOREIGN KEY(outlet_id) REFERENCES outlets (id));
CREATE INDEX ix_articles_outlet_id ON articles (outlet_id);
CREATE INDEX ix_articles_published_date ON articles (published_date);
CREATE TABLE analyses (id INTEGER NOT NULL, article_id INTEGER NOT NULL, model TEXT NOT NULL,
    current BOOLEAN NOT NULL, score FLOAT, n_spans INTEGER NOT NULL, created_at DATETIME NOT NULL,
    PRIMARY KEY (id), FOREIGN KEY(article_id) REFERENCES articles (id) ON DELETE CASCADE);
CREATE INDEX ix_analyses_current_score ON analyses (current, score);
CREATE INDEX ix_analyses_article_current ON analyses (article_id, current);
CREATE TABLE spans (id INTEGER NOT NULL, analysis_id INTEGER NOT NULL, start INTEGER NOT NULL,
    "end" INTEGER NOT NULL, technique SMALLINT NOT NULL, confidence FLOAT NOT NULL, PRIMARY KEY (id),
    FOREIGN KEY(analysis_id) REFERENCES analyses (id) ON DELETE CASCADE);
CREATE INDEX ix_spans_analysis_technique ON spans (analysis_id, technique, confidence);
CREATE TABLE sentences (id INTEGER NOT NULL, analysis_id INTEGER NOT NULL, start INTEGER NOT NULL,
    "end" INTEGER NOT NULL, score FLOAT NOT NULL, n_spans INTEGER NOT NULL, PRIMARY KEY (id),
    FOREIGN KEY(analysis_id) REFERENCES analyses (id) ON DELETE CASCADE);
CREATE INDEX ix_sentences_analysis_id ON sentences (analysis_id);
INSERT INTO propscope_meta VALUES ('schema_version', '1'), ('created_by', 'propscope 0.1.0');
INSERT INTO outlets (id, name, domain, orientation) VALUES (1, 'Old Times', 'old.example', 'center');
INSERT INTO articles (id, url, content_hash, outlet_id, ext_id, title, published, published_date, text, words,
    ingested_at) VALUES (1, 'https://old.example/1', 'h1', 1, 'old1', 'Ancient story',
    '2019-05-01', '2019-05-01', 'Ancient story\n\nThe terrorist fled the valley.', 7, '2019-05-02 10:00:00');
INSERT INTO analyses (id, article_id, model, current, score, n_spans, created_at)
    VALUES (1, 1, 'm-old', TRUE, 0.45, 1, '2019-05-02 10:00:00');
INSERT INTO spans (id, analysis_id, start, "end", technique, confidence) VALUES (1, 1, 19, 28, 9, 0.9);
INSERT INTO sentences (id, analysis_id, start, "end", score, n_spans) VALUES (1, 1, 0, 13, 0.0, 0),
    (2, 1, 15, 45, 0.9, 1);
"""


def _build_v1(target: str) -> None:
    ddl = V1_DDL
    if target.startswith("postgresql"):
        ddl = ddl.replace("id INTEGER NOT NULL,", "id SERIAL NOT NULL,").replace("DATETIME", "TIMESTAMP")
        engine = sa.create_engine(target.replace("postgresql://", "postgresql+psycopg://", 1))
    else:
        engine = sa.create_engine(f"sqlite:///{target}")
    with engine.begin() as conn:
        for stmt in ddl.split(";"):
            if stmt.strip():
                conn.exec_driver_sql(stmt)
        if target.startswith("postgresql"):
            for t in ("outlets", "articles", "analyses", "spans", "sentences"):
                conn.exec_driver_sql(f"SELECT setval('{t}_id_seq', (SELECT max(id) FROM {t}))")
    engine.dispose()


def _columns(target: str) -> dict[str, list[str]]:
    store = open_store(target)
    try:
        with store.read() as conn:
            insp = sa.inspect(conn)
            return {
                t: [c["name"] for c in insp.get_columns(t)]
                for t in insp.get_table_names()
                if not t.startswith("articles_fts")
            }
    finally:
        store.close()


def test_a_version_1_store_is_migrated_forward_with_its_data(store_target, tmp_path):  # noqa: F811
    _build_v1(store_target)
    with Corpus(store_target) as corpus:
        with corpus.store.read() as conn:
            assert conn.exec_driver_sql(
                "SELECT value FROM propscope_meta WHERE key = 'schema_version'"
            ).scalar() == str(SCHEMA_VERSION)
        full = corpus.article(1)
        assert full.analysis.spans[0].text == "terrorist" and full.analysis.score == 0.45
        assert full.outlet == "Old Times" and str(full.published) == "2019-05-01"
        assert [r.title for r in corpus.search("terrorist")] == ["Ancient story"]  # the index covers old rows
        r = corpus.ingest(
            [Article(id="n", text="New story\n\nThe terrorist returned.", url="https://old.example/2")],
            detector=FakeDetector(),
        )
        assert r.added == 1 and corpus.stats(by=["outlet"])[0]["articles"] == 2
        assert {x.title for x in corpus.search("terrorist")} == {"Ancient story", "New story"}
    fresh = str(tmp_path / "fresh.db") if not store_target.startswith("postgresql") else None
    if fresh:
        assert _columns(store_target) == _columns(fresh)


def _engine(target: str) -> sa.Engine:
    if target.startswith("postgresql"):
        return sa.create_engine(target.replace("postgresql://", "postgresql+psycopg://", 1))
    return sa.create_engine(f"sqlite:///{target}")


def _build_v2(target: str) -> None:
    """A store as schema version 2 left it: version 1 migrated by the version 2 step (frozen in store.py)."""
    from propscope.corpus.store import _migrate_1_to_2

    _build_v1(target)
    engine = _engine(target)
    with engine.begin() as conn:
        _migrate_1_to_2(conn)
        conn.exec_driver_sql("UPDATE propscope_meta SET value = '2' WHERE key = 'schema_version'")
    engine.dispose()


def test_a_version_2_store_gets_non_unique_hashes_and_trace_tables(store_target, tmp_path):  # noqa: F811
    _build_v2(store_target)
    with Corpus(store_target) as corpus:
        with corpus.store.read() as conn:
            insp = sa.inspect(conn)
            assert {"reuse_links", "reuse_passages", "story_families", "family_members"} <= set(
                insp.get_table_names())
            uniques = [u["column_names"] for u in insp.get_unique_constraints("articles")]
            assert ["content_hash"] not in uniques
            assert any(ix["column_names"] == ["content_hash"] for ix in insp.get_indexes("articles"))
        assert corpus.article(1).analysis.spans[0].text == "terrorist"  # the data came through the rebuild
        text = "Ancient story\n\nThe terrorist fled the valley."
        old = corpus.article(1).analysis.article
        assert old.text == text
        from propscope.corpus.ingest import content_hash

        with corpus.store.write() as conn:  # v1 rows carry a made-up hash; give the real one
            conn.exec_driver_sql(f"UPDATE articles SET content_hash = '{content_hash(text)}' WHERE id = 1")
        det = FakeDetector()
        copy = Article(id="copy", text=text, url="https://copy.example/1", published="2019-05-03")
        r = corpus.ingest([copy], detector=det)
        assert r.added == 1 and det.batches == [] and corpus.count() == 2  # stored, analysis copied
        assert corpus.article(2).analysis.score == 0.45
        with corpus.store.write() as conn:  # foreign keys still point at the rebuilt table
            conn.exec_driver_sql("DELETE FROM articles WHERE id = 1")
            assert conn.exec_driver_sql("SELECT count(*) FROM article_texts WHERE id = 1").scalar() == 0
            assert conn.exec_driver_sql("SELECT count(*) FROM analyses WHERE article_id = 1").scalar() == 0
    if not store_target.startswith("postgresql"):
        assert _columns(store_target) == _columns(str(tmp_path / "fresh.db"))


def _build_v3(target: str) -> None:
    """A store as schema version 3 left it: version 2 migrated by the version 3 step (frozen in store.py),
    with more spans than version 1 had, some right on a band boundary."""
    from propscope.corpus.store import _migrate_2_to_3

    _build_v2(target)
    engine = _engine(target)
    with engine.begin() as conn:
        _migrate_2_to_3(conn)
        conn.exec_driver_sql(
            'INSERT INTO spans (analysis_id, start, "end", technique, confidence) VALUES '
            "(1, 0, 7, 9, 0.5), (1, 8, 13, 9, 0.2), (1, 33, 38, 2, 0.55), (1, 39, 45, 2, 1.0), "
            "(1, 0, 13, 0, 0.0)")
        conn.exec_driver_sql("UPDATE analyses SET n_spans = 6, n_tech_9 = 3, n_tech_2 = 2, n_tech_0 = 1")
        conn.exec_driver_sql("UPDATE propscope_meta SET value = '3' WHERE key = 'schema_version'")
    engine.dispose()


def test_a_version_3_store_gets_confidence_counts_from_its_spans(
        store_target, tmp_path, monkeypatch):  # noqa: F811
    from propscope.corpus import Filters
    from propscope.corpus import query as Q

    _build_v3(store_target)
    with Corpus(store_target) as corpus:
        with corpus.store.read() as conn:
            v = conn.exec_driver_sql("SELECT value FROM propscope_meta WHERE key = 'schema_version'").scalar()
            assert v == str(SCHEMA_VERSION)
            rows = {r[0]: r[1:] for r in conn.exec_driver_sql(
                "SELECT band, n_spans, n_tech_9, n_tech_2 FROM confidence_counts WHERE analysis_id = 1")}
        # spans of analysis 1: technique 9 at 0.9, 0.5, 0.2; technique 2 at 0.55, 1.0; technique 0 at 0.0
        assert rows[4] == (5, 3, 2) and rows[10] == (4, 2, 2) and rows[11] == (3, 1, 2)
        assert rows[18] == (2, 1, 1) and rows[19] == (1, 0, 1) and rows[20] == (1, 0, 1)
        assert sorted(rows) == list(range(1, 21))
        for m in (None, 0.5, 0.55, 0.56, 1.0):
            f = Filters.parse(min_confidence=m)
            for by in (["technique"], ["outlet", "month"]):
                fast = corpus.stats(f, by=by)
                with monkeypatch.context() as mp:
                    mp.setattr(Q, "USE_BANDS", False)
                    mp.setattr(Q, "USE_DAILY", False)
                    assert fast == corpus.stats(f, by=by)
        at = corpus.stats(Filters.parse(min_confidence=0.55), by=["technique"])
        got = {r["technique"]: r["spans"] for r in at}
        assert got["Name_Calling,Labeling"] == 1 and got["Bandwagon,Reductio_ad_hitlerum"] == 2  # 9 and 2
        new = Article(id="n", text="New story\n\nThe terrorist returned.", url="https://old.example/2")
        r = corpus.ingest([new], detector=FakeDetector())
        assert r.added == 1
        assert [(x["month"], x["articles"], x["spans"]) for x in corpus.stats(by=["month"])] == [
            ("(unknown)", 1, 1), ("2019-05", 1, 6)]  # from daily_counts: the migration's and the ingest's
        with corpus.store.read() as conn:
            n = conn.exec_driver_sql("SELECT count(DISTINCT analysis_id) FROM confidence_counts").scalar()
        assert n == 2
    if not store_target.startswith("postgresql"):
        assert _columns(store_target) == _columns(str(tmp_path / "fresh.db"))
