"""GET /api/v1/corpus/articles/{id}/reuse over a store with planted copies (tests/test_corpus_trace.py),
traced with `propscope trace --db`: sources, copies, links of unknown direction, passages, family."""

from __future__ import annotations

import json

import pytest
from explore_fixtures import build_store, build_traced_store, reuse_rows
from fastapi.testclient import TestClient
from server_fixtures import FakeDetector
from test_corpus_trace import SAMPLE, UNRELATED

from propscope import Corpus
from propscope.server.app import create_app


@pytest.fixture(scope="module")
def traced(tmp_path_factory):
    folder = tmp_path_factory.mktemp("reuse")
    corpus = Corpus(build_traced_store(folder, reuse_rows()), create=False)
    ids = {s.article.id: s.id for s in corpus.iter_articles()}
    links = json.loads((folder / "trace.json").read_text(encoding="utf-8"))["links"]
    with TestClient(create_app(FakeDetector(), corpus=corpus)) as c:
        yield c, ids, links
    corpus.close()


def _get(client, article_id):
    r = client.get(f"/api/v1/corpus/articles/{article_id}/reuse")
    assert r.status_code == 200, r.text
    return r.json()


def _text(client, article_id):
    return client.get(f"/api/v1/corpus/articles/{article_id}").json()["analysis"]["article"]["text"]


def _as_seen_from(link, me):
    """A link of `propscope trace -f json` as (other id, passages) seen from article ``me``."""
    mine = "copy" if link["copy"] == str(me) else "source"
    other = "source" if mine == "copy" else "copy"
    return int(link[other]), sorted((p[f"{mine}_start"], p[f"{mine}_end"], p[f"{other}_start"],
                                     p[f"{other}_end"], p["kind"], p["similarity"]) for p in link["passages"])


def test_sources_and_copies_with_their_passages(traced):
    client, ids, links = traced
    c = _get(client, ids["C"])
    assert c["traced"] is True and c["hint"] is None and c["traced_at"]
    assert [(s["id"], s["kind"], s["direction"]) for s in c["sources"]] == [
        (ids["A"], "verbatim", "dates"), (ids["B"], "reworded", "dates")]
    assert [(s["id"], s["kind"], s["direction"]) for s in c["copies"]] == [(ids["D"], "verbatim", "dates")]
    assert c["unknown_direction"] == []
    a = c["sources"][0]
    assert a["title"].startswith("Putin hopes terrorists in Idlib will have wisdom")
    assert (a["outlet"], a["published"]) == ("tass.com", "2018-09-07")
    assert 0.3 < a["share"] < a["other_share"] and a["other_share"] > 0.9  # C has more text than A's wire

    # every passage is the one trace found, seen from C, with both texts cut from the stored texts
    by_pair = {frozenset((lk["source"], lk["copy"])): lk for lk in links}
    mine = _text(client, ids["C"])
    for item in c["sources"] + c["copies"]:
        other_text = _text(client, item["id"])
        expected = _as_seen_from(by_pair[frozenset((str(ids["C"]), str(item["id"])))], ids["C"])
        assert (item["id"], sorted((p["start"], p["end"], p["other_start"], p["other_end"], p["kind"],
                                    p["similarity"]) for p in item["passages"])) == expected
        for p in item["passages"]:
            assert p["text"] == mine[p["start"]:p["end"]]
            assert p["other_text"] == other_text[p["other_start"]:p["other_end"]]
    d = c["copies"][0]
    assert d["share"] == d["other_share"] == 1.0
    assert [(p["start"], p["end"], p["other_start"], p["other_end"], p["kind"]) for p in d["passages"]] == [
        (0, len(mine), 0, len(mine), "verbatim")]
    assert mine.split()[:8] == SAMPLE.split()[:8]

    # seen from A, C is a copy and A's side of the passages comes first
    a_side = _get(client, ids["A"])
    assert [x["id"] for x in a_side["copies"]] == [ids["B"], ids["C"]] and a_side["sources"] == []
    back = next(x for x in a_side["copies"] if x["id"] == ids["C"])
    assert [(p["start"], p["other_start"]) for p in back["passages"]] == [
        (p["other_start"], p["start"]) for p in a["passages"]]
    assert back["share"] == a["other_share"] and back["outlet"] == "Idlib Times"

    fam = c["family"]
    assert (fam["origin"], fam["size"], fam["links"]) == (ids["A"], 4, 4)
    assert fam["origin_title"] == a["title"] and fam["origin_published"] == "2018-09-07"


def test_unknown_direction_and_no_reuse(traced):
    client, ids, _ = traced
    f = _get(client, ids["F"])  # undated: neither claimed to copy the other
    assert f["sources"] == f["copies"] == []
    [e] = f["unknown_direction"]
    assert (e["id"], e["direction"], e["kind"], e["published"]) == (
        ids["E"], "unknown", "verbatim", "2018-09-11")
    assert e["passages"][0]["other_text"] in UNRELATED
    assert [x["id"] for x in _get(client, ids["E"])["unknown_direction"]] == [ids["F"]]


def test_unknown_article_is_404_and_the_route_is_documented(traced):
    client, _, _ = traced
    r = client.get("/api/v1/corpus/articles/999999/reuse")
    assert r.status_code == 404 and "999999" in r.json()["detail"]
    assert client.get("/api/v1/corpus/articles/abc/reuse").status_code == 422
    doc = client.get("/openapi.json").json()
    op = doc["paths"]["/api/v1/corpus/articles/{article_id}/reuse"]["get"]
    ref = op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    answer = doc["components"]["schemas"][ref.rsplit("/", 1)[1]]
    assert {"traced", "sources", "copies", "unknown_direction", "family"} <= set(answer["properties"])


def test_a_store_never_traced_says_how_and_a_trace_shows_up(tmp_path):
    rows = reuse_rows()
    corpus = Corpus(build_store(tmp_path, rows), create=False)
    app = create_app(FakeDetector(), corpus=corpus)
    app.state.corpus_cache._check_every = 0.0
    c_id = next(s.id for s in corpus.iter_articles() if s.article.id == "C")
    with TestClient(app) as client:
        first = client.get(f"/api/v1/corpus/articles/{c_id}/reuse").json()
        assert first["traced"] is False and first["traced_at"] is None
        assert f"propscope trace --db {corpus.name}" in first["hint"]
        assert first["sources"] == first["copies"] == first["unknown_direction"] == []
        assert first["family"] is None
        corpus.trace()  # the cached answer is dropped: the store's version follows the trace
        again = client.get(f"/api/v1/corpus/articles/{c_id}/reuse").json()
        assert again["traced"] is True and len(again["sources"]) == 2
    corpus.close()


def test_each_group_is_paged_and_counted(traced):
    client, ids, _ = traced
    whole = _get(client, ids["A"])
    assert whole["totals"] == {"sources": 0, "copies": 2, "unknown_direction": 0}
    assert (whole["offset"], whole["limit"]) == (0, 100)
    url = f"/api/v1/corpus/articles/{ids['A']}/reuse"
    pages = [client.get(f"{url}?offset={k}&limit=1").json() for k in (0, 1, 2)]
    assert [[x["id"] for x in p["copies"]] for p in pages] == [[ids["B"]], [ids["C"]], []]
    assert all(p["totals"] == whole["totals"] and p["limit"] == 1 for p in pages)
    assert pages[1]["copies"][0] == whole["copies"][1]  # the same link, passages and all
    c = client.get(f"/api/v1/corpus/articles/{ids['C']}/reuse?limit=1").json()  # each group on its own
    assert [x["id"] for x in c["sources"]] == [ids["A"]] and [x["id"] for x in c["copies"]] == [ids["D"]]
    assert c["totals"] == {"sources": 2, "copies": 1, "unknown_direction": 0}
    f = client.get(f"/api/v1/corpus/articles/{ids['F']}/reuse?limit=1").json()
    assert f["totals"]["unknown_direction"] == 1 and len(f["unknown_direction"]) == 1
    for bad in ("limit=0", "limit=1001", "offset=-1"):
        assert client.get(f"/api/v1/corpus/articles/{ids['A']}/reuse?{bad}").status_code == 422
