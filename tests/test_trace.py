"""propscope trace: candidates, alignment, kinds, direction, families, CLI and bad input."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from propscope.cli import _register, app
from propscope.trace import TraceInput, TraceParams, trace
from propscope.trace.shingles import LshParams, block_bounds, minhash_reference, window_signatures
from propscope.trace.synth import synthetic_corpus

DATA = Path(__file__).parent / "data" / "trace"
SAMPLE = (DATA / "idlib-truce.txt").read_text(encoding="utf-8")
REWORDED = (DATA / "idlib-reworded.txt").read_text(encoding="utf-8")


def _cli(*args: str):
    _register()
    return CliRunner().invoke(app, ["trace", *args])


def test_signatures_equal_datasketch() -> None:
    rng = np.random.default_rng(3)
    values = rng.integers(0, 2**32, size=300, dtype=np.uint64)
    sig = window_signatures(values, LshParams(window=1000))
    assert sig.shape == (1, 96)
    assert (sig[0] == minhash_reference(values, 96)).all()
    # a window is two consecutive blocks: the second one is the MinHash of blocks 1 and 2
    bounds = block_bounds(values, 20)
    assert 5 <= len(bounds) <= 60 and bounds[0] == 0 and (np.diff(bounds) <= 40).all()
    win = window_signatures(values, LshParams())
    assert (win[1] == minhash_reference(values[bounds[1] : bounds[3]], 96)).all()


def test_cli_names_the_reworded_pair_with_passages() -> None:
    res = _cli(str(DATA / "idlib-truce.txt"), str(DATA / "idlib-reworded.txt"), "--format", "json")
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert len(out["links"]) == 1
    link = out["links"][0]
    assert {link["source"], link["copy"]} == {"idlib-truce", "idlib-reworded"}
    assert link["direction"] == "unknown"  # no dates in .txt files
    assert link["kind"] == "reworded"
    texts = {"idlib-truce": SAMPLE, "idlib-reworded": REWORDED}
    src, cp = texts[link["source"]], texts[link["copy"]]
    assert len(link["passages"]) == 2
    for p in link["passages"]:
        assert src[p["source_start"] : p["source_end"]] == p["source_text"]
        assert cp[p["copy_start"] : p["copy_end"]] == p["copy_text"]
        assert 0.6 < p["similarity"] < 0.95
    joined = " ".join(p["source_text"] + p["copy_text"] for p in link["passages"])
    # the reworded sentences are inside the passages, the copy's own sentences are not
    assert "wisen up" in joined and "see reason" in joined and "heavy weapons in Idlib" in joined
    assert "joint statement" not in joined and "Analysts in Moscow" not in joined
    assert link["families"] if False else out["families"][0]["members"] == ["idlib-reworded", "idlib-truce"]


def test_dates_decide_direction_and_origin(tmp_path: Path) -> None:
    out_file = tmp_path / "links.csv"
    res = _cli(str(DATA / "dated.jsonl"), "-o", str(out_file))
    assert res.exit_code == 0, res.output
    rows = out_file.read_text(encoding="utf-8").splitlines()
    assert rows[0].startswith("source,copy,direction,kind")
    assert rows[1].startswith("tass-2018-09-07,reworded-2018-09-08,dates,reworded")
    res = _cli(str(DATA / "dated.jsonl"), "-f", "json")
    fam = json.loads(res.stdout)["families"][0]
    assert fam["origin"] == "tass-2018-09-07" and fam["origin_published"] == "2018-09-07"
    link = json.loads(res.stdout)["links"][0]
    assert link["source_outlet"] == "tass.com" and link["share"] > 0.8


def test_table_output_and_bad_input(tmp_path: Path) -> None:
    (tmp_path / "empty.txt").write_text("", encoding="utf-8")
    (tmp_path / "one.txt").write_text("Just one line.", encoding="utf-8")
    (tmp_path / "a.txt").write_text(SAMPLE, encoding="utf-8")
    (tmp_path / "b.txt").write_text(SAMPLE, encoding="utf-8")  # identical duplicate
    res = _cli(str(tmp_path))
    assert res.exit_code == 1  # the empty file fails to read, the others are traced
    assert "error:" in res.stderr and "empty.txt" in res.stderr
    assert "verbatim" in res.stdout and "3 articles traced, 1 reuse links" in res.stderr


def test_kinds_verbatim_reworded_quotation() -> None:
    speech = (
        "“We will never accept the occupation of our land and we will fight for every village, every "
        "field and every river until the last invader has left our country for good,” "
    )
    a = TraceInput(
        id="a",
        text="Report one\n\nThe minister spoke in the capital on Monday. "
        + speech
        + "he said. Officials in the north reported heavy rain and closed two schools near the coast.",
        published="2020-01-02",
    )
    b = TraceInput(
        id="b",
        text="Another report\n\nFarmers protested against new taxes in the south. "
        + speech
        + "the minister told parliament. The opposition called for early elections next spring.",
        published="2020-01-01",
    )
    c = TraceInput(id="c", text=SAMPLE, published="2018-09-07")
    d = TraceInput(
        id="d", text=SAMPLE.replace("Idlib", "Idleb") + "\nA new closing line.", published="2018-09-09"
    )
    e = TraceInput(id="e", text=REWORDED, published="2018-09-08")
    res = trace([a, b, c, d, e])
    kinds = {(lk.source, lk.copy_id): (lk.kind, lk.direction) for lk in res.links}
    assert kinds[("b", "a")] == ("quotation", "dates")
    assert kinds[("c", "d")][0] == "verbatim"
    assert kinds[("c", "e")][0] == "reworded"
    assert ("a", "c") not in kinds and ("b", "c") not in kinds
    # quotation-only links do not join families
    assert all({"a", "b"} - set(f.members) for f in res.families)


def test_no_dates_duplicates_and_short_articles() -> None:
    items = [TraceInput(id=str(k), text=SAMPLE) for k in range(30)]
    items += [TraceInput(id="empty", text=""), TraceInput(id="line", text="One line only.")]
    res = trace(items)
    assert res.stats.duplicates == 29 and res.stats.too_short == 2
    assert len(res.links) == 29  # each duplicate linked once, to the first, not 435 pairs
    assert all(lk.direction == "unknown" and lk.kind == "verbatim" and lk.share == 1.0 for lk in res.links)
    assert res.families[0].origin is None and len(res.families[0].members) == 30


def test_same_speech_everywhere_stays_linear() -> None:
    arts, _ = synthetic_corpus(300, reuse=0.0, seed=5)
    other, _ = synthetic_corpus(1, reuse=0.0, seed=99)
    speech = "“" + other[0].text.split("\n\n")[1][:1500] + "”"
    items = [
        TraceInput(id=a.id, text=a.text + "\n" + speech + " he said.", published=a.published, outlet=a.outlet)
        for a in arts
    ]
    # by default the speech's lines, found in 3+ articles of one outlet, are left out as boilerplate
    res = trace(items)
    assert any("left out as boilerplate" in w for w in res.warnings)
    # only articles of outlets with fewer than 3 articles keep the speech: few links, all quotations
    assert len(res.links) < 100 and all(lk.kind == "quotation" for lk in res.links)
    # without that rule, LSH buckets are capped and each article keeps at most 10 partners
    t0 = time.perf_counter()
    res = trace(items, TraceParams(boilerplate_df=10**9, boilerplate_outlet_df=10**9))
    assert time.perf_counter() - t0 < 120
    assert res.stats.capped_buckets > 0 and any("LSH buckets" in w for w in res.warnings)
    assert res.stats.candidate_pairs <= 300 * 2 * 10  # not 44,850 pairs
    assert res.links and all(lk.kind == "quotation" for lk in res.links)


def test_five_megabyte_article() -> None:
    arts, _ = synthetic_corpus(3000, reuse=0.0, seed=6)
    big = "\n".join(a.text for a in arts)
    while len(big) < 5_000_000:
        big += "\n" + big[: 5_000_000 - len(big)]
    small = TraceInput(id="small", text=arts[10].text, published="2020-12-31")
    t0 = time.perf_counter()
    res = trace([TraceInput(id="big", text=big, published="2020-01-01"), small])
    assert time.perf_counter() - t0 < 120
    link = next(lk for lk in res.links if lk.copy_id == "small")
    assert link.source == "big" and link.share > 0.9


def test_synthetic_corpus_recall_and_precision() -> None:
    arts, planted = synthetic_corpus(1500, reuse=0.04, seed=2)
    res = trace(arts)
    truth = {frozenset((p.source, p.copy)) for p in planted}
    found = {frozenset((lk.source, lk.copy_id)) for lk in res.links}
    assert len(truth & found) / len(truth) >= 0.9
    assert len(truth & found) / len(found) >= 0.95
