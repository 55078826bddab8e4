"""The corpus REST API (/api/v1/corpus/...) on a small store built with `propscope ingest`."""

from __future__ import annotations

import shutil
import time

import pytest
from explore_fixtures import build_store, corpus_rows
from fastapi.testclient import TestClient
from server_fixtures import FakeDetector

from propscope import Corpus
from propscope.server.app import create_app


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return build_store(tmp_path_factory.mktemp("explore"), corpus_rows())


@pytest.fixture(scope="module")
def client(store):
    corpus = Corpus(store, create=False)
    with TestClient(create_app(FakeDetector(), corpus=corpus)) as c:
        yield c
    corpus.close()


def test_info_and_outlets(client):
    r = client.get("/api/v1/corpus")
    assert r.status_code == 200 and r.json()["articles"] == 12
    outlets = {o["name"]: o for o in client.get("/api/v1/corpus/outlets").json()}
    assert set(outlets) == {"Left Wire", "Right Daily", "Centre Post"}
    assert outlets["Right Daily"]["orientation"] == "right" and outlets["Right Daily"]["articles"] == 4


def test_stats_by_technique_and_dates(client):
    # Right Daily always uses the phrases; in 2020 everyone does. Each such text: 2 terrorist words,
    # one "wisen up", one fear phrase.
    r = client.get("/api/v1/corpus/stats", params={"by": "technique", "from": "2019-01-01", "to": "2019-12"})
    assert r.status_code == 200, r.text
    rows = {row["technique"]: row for row in r.json()["rows"]}
    assert rows["Loaded_Language"]["spans"] == 3 and rows["Loaded_Language"]["articles"] == 9
    assert rows["Name_Calling,Labeling"]["spans"] == 6
    assert rows["Doubt"]["spans"] == 0
    assert r.json()["filters"]["date_to"] == "2019-12-31"


def test_stats_by_outlet_and_month_with_filters(client):
    rows = client.get("/api/v1/corpus/stats",
                      params=[("by", "outlet"), ("orientation", "right")]).json()["rows"]
    assert [r["outlet"] for r in rows] == ["Right Daily"] and rows[0]["share"] == 1.0
    assert rows[0]["spans_per_1k_words"] > 0 and 0 < rows[0]["mean_score"] <= 1
    months = client.get("/api/v1/corpus/stats", params=[("by", "month"), ("by", "technique"),
                                                        ("technique", "loaded")]).json()["rows"]
    assert {(m["month"], m["spans"]) for m in months} == {("2019-01", 1), ("2019-02", 1), ("2019-03", 1),
                                                          ("2020-01", 3)}


def test_articles_sorted_and_paginated_on_the_server(client):
    page = client.get("/api/v1/corpus/articles", params={"sort": "-published", "limit": 5}).json()
    assert page["total"] == 12 and len(page["rows"]) == 5
    assert page["rows"][0]["published"] == "2020-01-12"
    dates = [r["published"] for r in page["rows"]]
    assert dates == sorted(dates, reverse=True)
    page3 = client.get("/api/v1/corpus/articles",
                       params={"sort": "-published", "limit": 5, "offset": 10}).json()
    assert len(page3["rows"]) == 2
    by_score = client.get("/api/v1/corpus/articles", params={"sort": "-score", "technique": "fear"}).json()
    assert by_score["total"] == 6  # only articles with a selected span
    assert all(r["n_spans"] > 0 for r in by_score["rows"])
    outlets = [r["outlet"] for r in client.get("/api/v1/corpus/articles",
                                               params={"sort": "outlet", "limit": 12}).json()["rows"]]
    assert outlets == sorted(outlets)


def test_one_article_with_spans_sentences_and_score(client):
    first = client.get("/api/v1/corpus/articles",
                       params={"outlet": "Right Daily", "limit": 1}).json()["rows"][0]
    r = client.get(f"/api/v1/corpus/articles/{first['id']}")
    assert r.status_code == 200
    body = r.json()
    a = body["analysis"]
    assert body["outlet"] == "Right Daily" and body["orientation"] == "right"
    assert a["article"]["url"].startswith("https://rightdaily.example/")
    assert {s["technique"] for s in a["spans"]} == {"Name_Calling,Labeling", "Loaded_Language",
                                                   "Appeal_to_fear-prejudice"}
    assert all(a["article"]["text"][s["start"]:s["end"]] == s["text"] for s in a["spans"])
    assert a["sentences"] and any(s["score"] > 0 for s in a["sentences"]) and a["score"] > 0
    assert client.get("/api/v1/corpus/articles/999999").status_code == 404


def test_search_with_filters(client):
    r = client.get("/api/v1/corpus/search", params={"q": "harvest", "orientation": "left"}).json()
    assert r["total"] == 3 and {x["outlet"] for x in r["rows"]} == {"Left Wire"}
    assert all(x["rank"] is not None for x in r["rows"])


def test_stats_and_lists_with_a_minimum_confidence(client):
    """The store's confidences (conftest's FakeDetector): name calling 0.9, loaded language 0.75, fear 0.6.
    On a band boundary (0.6, 0.65, 0.75, 0.8, 0.9, 0.95) the store's confidence bands answer, at 0.74 the
    spans do; a span right at the minimum counts."""
    conf = {"Name_Calling,Labeling": 0.9, "Loaded_Language": 0.75, "Appeal_to_fear-prejudice": 0.6}
    every = {r["technique"]: r for r in client.get("/api/v1/corpus/stats",
                                                    params=[("by", "technique")]).json()["rows"]}
    assert all(every[t]["spans"] > 0 for t in conf)
    for m in (0.6, 0.65, 0.74, 0.75, 0.8, 0.9, 0.95):
        r = client.get("/api/v1/corpus/stats", params=[("by", "technique"), ("min_confidence", str(m))])
        assert r.status_code == 200, r.text
        assert r.json()["filters"]["min_confidence"] == m
        rows = {x["technique"]: x for x in r.json()["rows"]}
        for t, row in rows.items():
            kept = conf.get(t, 0) >= m
            assert row["spans"] == (every[t]["spans"] if kept else 0), (m, t)
            assert row["articles_with"] == (every[t]["articles_with"] if kept else 0), (m, t)
            assert row["articles"] == every[t]["articles"]
        total = client.get("/api/v1/corpus/stats", params={"min_confidence": str(m)}).json()["rows"][0]
        assert total["spans"] == sum(x["spans"] for x in rows.values())
        fear = client.get("/api/v1/corpus/articles", params={"technique": "fear", "min_confidence": str(m)})
        assert fear.json()["total"] == (6 if m <= 0.6 else 0)


@pytest.mark.parametrize("params, word", [
    ({"from": "not-a-date"}, "from"), ({"technique": "nosuchthing"}, "technique"),
    ({"sort": "colour"}, "sort"), ({"by": "planet"}, "planet"), ({"min_confidence": "2"}, "min_confidence"),
])
def test_bad_parameters_get_one_line_naming_them(client, params, word):
    stats = "by" in params or "min_confidence" in params
    path = "/api/v1/corpus/stats" if stats else "/api/v1/corpus/articles"
    r = client.get(path, params=params)
    assert r.status_code == 422 and word in r.json()["detail"]


def test_routes_are_in_the_openapi_document(client):
    paths = client.get("/openapi.json").json()["paths"]
    for p in ("stats", "articles", "articles/{article_id}", "articles/{article_id}/reuse", "outlets",
              "search"):
        assert f"/api/v1/corpus/{p}" in paths
    names = {p["name"] for p in paths["/api/v1/corpus/stats"]["get"]["parameters"]}
    assert {"from", "to", "outlet", "orientation", "technique", "search", "min_confidence", "by"} <= names


def test_answers_follow_an_ingest(store, tmp_path):
    shutil.copy(store, tmp_path / "copy.db")
    corpus = Corpus(tmp_path / "copy.db", create=False)
    app = create_app(FakeDetector(), corpus=corpus)
    app.state.corpus_cache._check_every = 0.0
    with TestClient(app) as c:
        before = c.get("/api/v1/corpus").json()["articles"]
        from propscope.schema import Article
        new = Article(id="new", text="New story\n\nThe terrorists again.", url="https://n.example/1")
        corpus.ingest([new], detector=FakeDetector())
        assert c.get("/api/v1/corpus").json()["articles"] == before + 1
    corpus.close()


def test_without_a_store_the_routes_say_how_to_make_one():
    with TestClient(create_app(FakeDetector())) as c:
        r = c.get("/api/v1/corpus/stats")
        assert r.status_code == 404 and "propscope ingest" in r.json()["detail"]
        info = c.get("/api/v1/corpus").json()  # what the page asks first: no error in its console
        assert info["store"] is None and "propscope ingest" in info["hint"]


def test_the_explore_views_first_answers_are_computed_at_start_up(store):
    corpus = Corpus(store, create=False)
    app = create_app(FakeDetector(), corpus=corpus)
    with TestClient(app) as c:
        cache = app.state.corpus_cache
        deadline = time.monotonic() + 20
        while len(cache.keys()) < 6 and time.monotonic() < deadline:
            time.sleep(0.05)
        paths = {(k[0], k[1]) for k in cache.keys()}
        assert ("/api/v1/corpus/stats", (("by", "month"), ("by", "technique"))) in paths
        hits = cache.hits
        r = c.get("/api/v1/corpus/stats?by=month&by=technique")
        assert r.status_code == 200 and cache.hits == hits + 1
        r = c.get("/api/v1/corpus/stats?by=technique&by=month")  # another grouping order: another answer
        assert cache.hits == hits + 1 and list(r.json()["rows"][0])[:2] == ["technique", "month"]
        pair = [k for k in cache.keys()
                if ("outlet", "Centre Post") in k[1] and ("outlet", "Left Wire") in k[1]]
        assert pair, "the two-outlet chart's answer is warmed too"
    corpus.close()


def test_serve_finds_its_store(store, tmp_path, monkeypatch, capsys):
    import typer

    from propscope.cli.serve import _open_corpus

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PROPSCOPE_DB", raising=False)
    assert _open_corpus(None) is None  # no ./propscope.db: no Explore view, one line saying how
    assert "propscope ingest" in capsys.readouterr().err
    with pytest.raises(typer.Exit) as stop:
        _open_corpus(str(tmp_path / "missing.db"))
    assert stop.value.exit_code == 1
    assert f"error: {tmp_path / 'missing.db'}: no such store" in capsys.readouterr().err
    assert not (tmp_path / "missing.db").exists()  # not created by serve
    shutil.copy(store, tmp_path / "propscope.db")
    corpus = _open_corpus(None)
    assert corpus is not None and corpus.count() == 12
    corpus.close()
    monkeypatch.setenv("PROPSCOPE_DB", str(store))
    corpus = _open_corpus(None)
    assert corpus.name == str(store)
    corpus.close()
