"""Tracing a store: `propscope trace --db` saves links, passages and families; Corpus.reuse and
Corpus.reuse_stats read them back; per-outlet figures checked against a small corpus worked out by hand."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import FakeDetector
from corpus_fixtures import pg_cluster, store_target  # noqa: F401  (fixtures)
from typer.testing import CliRunner

from propscope import Article, Corpus
from propscope.cli import _register, app
from propscope.corpus import Filters

_register()
DATA = Path(__file__).parent / "data" / "trace"
SAMPLE = (DATA / "idlib-truce.txt").read_text(encoding="utf-8")
UNRELATED = (
    "Harvest festival opens in the valley\n\nFarmers from twelve villages brought pumpkins, apples and "
    "honey to the market square on Saturday, where a brass band played until the evening. The mayor "
    "thanked the volunteers who cleaned the streets after the storm last week and announced a new bus "
    "line to the northern hamlets, which will run twice a day from October. Children painted the old "
    "fountain and the bakery sold out of bread before noon."
)


def planted() -> list[Article]:
    """A (TASS, 09-07) <- B (reworded, 09-08) <- C (the sample, 09-09) <- D (C word for word, new URL)."""
    wire = [json.loads(line) for line in (DATA / "dated.jsonl").read_text(encoding="utf-8").splitlines()]
    return [
        Article(id="A", text=wire[0]["text"], url="https://tass.com/1", site="tass.com",
                published="2018-09-07"),
        Article(id="B", text=wire[1]["text"], url="https://example.org/b", site="example.org",
                published="2018-09-08"),
        Article(id="C", text=SAMPLE, url="https://idlib.example/c", site="Idlib Times",
                published="2018-09-09"),
        Article(id="D", text=SAMPLE, url="https://mirror.example/d", site="Mirror", published="2018-09-10"),
        Article(id="E", text=UNRELATED, url="https://tass.com/2", site="tass.com", published="2018-09-11"),
    ]


@pytest.fixture
def traced(store_target):  # noqa: F811
    with Corpus(store_target) as corpus:
        det = FakeDetector()
        report = corpus.ingest(planted(), detector=det)
        assert report.added == 5 and sum(det.batches) == 4, "D's text is C's: analysed once"
        ids = {s.article.id: s.id for s in corpus.iter_articles()}
        result = corpus.trace()
        yield corpus, ids, result


def _pairs(corpus: Corpus, ids: dict[str, int]) -> set[tuple[str, str, str, str]]:
    name = {v: k for k, v in ids.items()}
    out = set()
    for aid in ids.values():
        for lk in corpus.reuse(aid).sources:
            out.add((name[int(lk.source)], name[int(lk.copy_id)], lk.kind, lk.direction))
    return out


def test_trace_saves_links_passages_and_families(traced) -> None:
    corpus, ids, result = traced
    assert {(lk.source, lk.copy_id) for lk in result.links} == {
        (str(ids[s]), str(ids[c])) for s, c in [("A", "B"), ("A", "C"), ("B", "C"), ("C", "D")]}
    assert _pairs(corpus, ids) == {
        ("A", "B", "reworded", "dates"), ("A", "C", "verbatim", "dates"), ("B", "C", "reworded", "dates"),
        ("C", "D", "verbatim", "dates")}
    c = corpus.reuse(ids["C"])
    assert [lk.source for lk in c.sources] == [str(ids["A"]), str(ids["B"])]
    assert [lk.copy_id for lk in c.copies] == [str(ids["D"])]
    saved = {(lk.source, lk.copy_id): lk for lk in result.links}
    for lk in c.sources + c.copies:  # what is read back is what trace found, texts cut from the store
        assert lk.model_dump() == saved[(lk.source, lk.copy_id)].model_dump()
    from_a = c.sources[0]
    assert from_a.source_outlet == "tass.com" and from_a.copy_outlet == "Idlib Times"
    assert from_a.source_published == "2018-09-07" and from_a.source_share > 0.9 and from_a.share > 0.3
    p = from_a.passages[0]
    assert p.copy_text == SAMPLE[p.copy_start : p.copy_end] and "Idlib" in p.source_text
    assert c.titles[ids["A"]].startswith("Putin hopes terrorists")
    assert c.family is not None and c.family.origin == str(ids["A"])
    assert sorted(c.family.members, key=int) == sorted(str(ids[k]) for k in "ABCD")
    e = corpus.reuse(ids["E"])
    assert e.sources == [] and e.copies == [] and e.family is None


def test_reuse_stats_per_outlet_by_hand(traced) -> None:
    corpus, ids, _ = traced
    rs = corpus.reuse_stats()
    # tass.com: A, E; A is reused by B and C. example.org: B copies A. Idlib Times: C copies A and B.
    # Mirror: D copies C.
    assert rs.outlets.to_dicts() == [
        {"outlet": "Idlib Times", "articles": 1, "reusing": 1, "share": 1.0, "reused": 1},
        {"outlet": "Mirror", "articles": 1, "reusing": 1, "share": 1.0, "reused": 0},
        {"outlet": "example.org", "articles": 1, "reusing": 1, "share": 1.0, "reused": 1},
        {"outlet": "tass.com", "articles": 2, "reusing": 0, "share": 0.0, "reused": 1},
    ]
    assert rs.flows.to_dicts() == [
        {"source_outlet": "Idlib Times", "copy_outlet": "Mirror", "links": 1, "verbatim": 1, "reworded": 0},
        {"source_outlet": "example.org", "copy_outlet": "Idlib Times", "links": 1, "verbatim": 0,
         "reworded": 1},
        {"source_outlet": "tass.com", "copy_outlet": "Idlib Times", "links": 1, "verbatim": 1, "reworded": 0},
        {"source_outlet": "tass.com", "copy_outlet": "example.org", "links": 1, "verbatim": 0, "reworded": 1},
    ]
    late = corpus.reuse_stats(Filters.parse(date_from="2018-09-09"))  # the copies C, D and E only
    assert [(r["outlet"], r["articles"], r["reusing"]) for r in late.outlets] == [
        ("Idlib Times", 1, 1), ("Mirror", 1, 1), ("tass.com", 1, 0)]
    assert sum(r["links"] for r in late.flows) == 3


def test_a_second_trace_replaces_the_first(traced) -> None:
    corpus, ids, _ = traced
    again = corpus.trace(Filters.parse(outlets=["Idlib Times", "Mirror"]))
    assert [(lk.source, lk.copy_id) for lk in again.links] == [(str(ids["C"]), str(ids["D"]))]
    assert _pairs(corpus, ids) == {("C", "D", "verbatim", "dates")}
    assert corpus.reuse(ids["A"]).family is None
    assert len(corpus.reuse(ids["D"]).family.members) == 2


def test_cli_trace_db_and_stats_reuse(store_target) -> None:  # noqa: F811
    with Corpus(store_target) as corpus:
        corpus.ingest(planted(), detector=FakeDetector())
    run = CliRunner().invoke
    res = run(app, ["trace", "--db", store_target, "-f", "json"])
    assert res.exit_code == 0, res.output
    assert len(json.loads(res.stdout)["links"]) == 4 and "saved in" in res.stderr
    res = run(app, ["stats", "--db", store_target, "--reuse", "outlets", "-f", "json"])
    assert res.exit_code == 0, res.output
    rows = {r["outlet"]: r for r in json.loads(res.stdout)}
    assert rows["tass.com"]["share"] == 0.0 and rows["Mirror"]["reusing"] == 1
    res = run(app, ["stats", "--db", store_target, "--reuse", "flows", "-f", "csv"])
    assert res.stdout.splitlines()[0] == "source_outlet,copy_outlet,links,verbatim,reworded"
    assert "Idlib Times,Mirror,1,1,0" in res.stdout.splitlines()
    res = run(app, ["stats", "--db", store_target, "--reuse", "flows"])
    assert res.exit_code == 0 and "tass.com" in res.stdout
    res = run(app, ["stats", "--db", store_target, "--reuse", "flows", "--by", "outlet"])
    assert res.exit_code == 2 and "--reuse" in res.stderr
    res = run(app, ["trace", "--db", store_target, str(DATA)])
    assert res.exit_code == 2 and "not both" in res.output


def test_public_trace_reuse_over_paths_and_articles() -> None:
    import propscope

    result = propscope.trace_reuse([DATA / "dated.jsonl", Article(id="sample", text=SAMPLE)])
    pairs = {(lk.source, lk.copy_id) for lk in result.links}
    assert ("tass-2018-09-07", "reworded-2018-09-08") in pairs
    assert any("sample" in p for p in pairs)
    with pytest.raises(propscope.InputError, match="nope.txt"):
        propscope.trace_reuse([DATA / "nope.txt"])


def test_import_propscope_stays_cheap() -> None:
    import subprocess
    import sys

    code = (
        "import sys, propscope; f = propscope.trace_reuse; c = propscope.Corpus.trace; "
        "print([m for m in ('numpy', 'sqlalchemy', 'datasketch') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['sqlalchemy']"  # Corpus loads the store layer; nothing else heavy
