"""The corpus commands: ingest (JSONL field mapping, outlets, idempotence, bad inputs), outlets import,
stats/top/search/export output, and a real `propscope ingest` killed with SIGKILL and resumed."""

from __future__ import annotations

import gzip
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import SAMPLE_PATH, FakeDetector
from typer.testing import CliRunner

from propscope import Corpus
from propscope.cli import _register, app

_register()


def run(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.fixture
def fake(monkeypatch):
    det = FakeDetector()
    monkeypatch.setattr("propscope.detect.base.load_detector", lambda *a, **k: det)
    return det


ALLSIDES_LIKE = [
    {
        "id": "x1",
        "source": "Left Wire",
        "source_url": "www.leftwire.com",
        "url": "http://www.leftwire.com/a",
        "date": "2016-03-01",
        "title": "Terrorists strike",
        "authors": "Ann Writer",
        "topic": "terrorism",
        "allsides_bias": "left",
        "text": "The terrorists struck at dawn.\n\nOfficials said they must wisen up.",
    },
    {
        "id": "x2",
        "source": "Right Post",
        "source_url": "www.rightpost.com",
        "url": "http://www.rightpost.com/b",
        "date": "2016-04-12",
        "title": "Budget passes",
        "authors": "Bob Writer",
        "topic": "economy",
        "allsides_bias": "right",
        "text": "The budget passed on Tuesday.",
    },
    {
        "id": "x3",
        "source": "Right Post",
        "url": "http://www.rightpost.com/c",
        "date": "31/31/2016",
        "title": "Bad date",
        "text": "A terrorist story with a bad date.",
    },
]


def test_ingest_jsonl_with_a_field_mapping_then_query_by_orientation(fake, tmp_path):
    src = tmp_path / "news.jsonl.gz"
    with gzip.open(src, "wt", encoding="utf-8") as f:
        for rec in ALLSIDES_LIKE:
            f.write(json.dumps(rec) + "\n")
        f.write("{not json\n")
    db = tmp_path / "c.db"
    r = run("ingest", src, "--db", db, "--field", "outlet=source", "--field", "author=authors")
    assert r.exit_code == 1, r.output  # the bad line fails, the others are stored
    errors = [x for x in r.stderr.splitlines() if x.startswith("error: ")]
    assert any("news.jsonl.gz:4: not valid JSON" in e for e in errors)
    assert any(
        "31/31/2016" in x and "is not a date" in x
        for x in r.stderr.splitlines()
        if x.startswith("warning: ")
    )
    assert "3 articles added" in r.stderr
    outlets = tmp_path / "outlets.csv"
    outlets.write_text(
        "name,domain,allsides_bias\nLeft Wire,leftwire.com,left\nRight Post,rightpost.com,right\n"
    )
    r = run("outlets", "import", outlets, "--db", db)
    assert r.exit_code == 0 and "0 outlets added, 2 updated" in r.stderr
    with Corpus(db) as c:
        arts = {s.article.id: s for s in c.iter_articles()}
        assert arts["x1"].outlet == "Left Wire" and arts["x1"].article.author == "Ann Writer"
        assert arts["x1"].article.text.startswith("Terrorists strike\n\nThe terrorists struck")
    r = run("stats", "--db", db, "--by", "orientation", "--format", "json")
    rows = json.loads(r.stdout)
    assert [(x["orientation"], x["articles"], x["spans"]) for x in rows] == [("left", 1, 3), ("right", 2, 1)]
    r = run("top", "--db", db, "-n", "1", "--orientation", "right", "--format", "csv")
    assert r.exit_code == 0 and r.stdout.splitlines()[1].split(",")[2] == "Bad date"
    r = run("search", "budget", "--db", db, "--format", "json")
    assert [x["title"] for x in json.loads(r.stdout)] == ["Budget passes"]
    again = run("ingest", src, "--db", db, "--field", "outlet=source")
    assert "0 articles added (0 spans), 3 already stored" in again.stderr


def test_stats_table_plot_and_export(fake, tmp_path):
    db = tmp_path / "c.db"
    assert run("ingest", SAMPLE_PATH, "--db", db, "--outlet", "muraselon").exit_code == 0
    r = run("stats", "--db", db, "--by", "technique", "--by", "outlet", "--plot", tmp_path / "p.png")
    assert r.exit_code == 0, r.output
    assert "Name_Calling,Labeling" in r.stdout and "muraselon" in r.stdout
    assert (tmp_path / "p.png").read_bytes()[:4] == b"\x89PNG"
    r = run("stats", "--db", db, "--by", "month", "--plot", tmp_path / "p.svg", "--technique", "loaded")
    assert r.exit_code == 0 and (tmp_path / "p.svg").read_text().lstrip().startswith("<?xml")
    r = run("export", "--db", db, "-o", tmp_path / "s.csv", "--what", "spans")
    assert r.exit_code == 0 and "spans written" in r.stderr
    assert (tmp_path / "s.csv").read_text().splitlines()[
        0
    ] == "article_id,outlet,published,start,end,technique,confidence,text"
    assert run("stats", "--db", db, "--technique", "lies").exit_code == 2
    r = run("stats", "--db", db, "--by", "day", "--by", "month")
    assert r.exit_code == 1 and "at most one of day, week, month, year" in r.stderr


def test_bad_store_gets_one_line(fake, tmp_path):
    bad = tmp_path / "notes.db"
    bad.write_bytes(b"hello, I am a text file\n" * 100)
    for cmd in (["ingest", SAMPLE_PATH], ["stats"], ["top"], ["search", "x"]):
        r = run(*cmd, "--db", bad)
        assert r.exit_code == 1
        assert r.stderr.strip().splitlines() == [
            f"error: {bad}: not a propscope store (file is not a database)"
        ]
    r = run("stats", "--db", tmp_path / "missing" / "x.db")
    assert r.exit_code == 1 and "does not exist" in r.stderr
    r = run("stats", "--db", f"postgresql://u:secret@/db?host={tmp_path}/none")
    assert r.exit_code == 1 and len(r.stderr.strip().splitlines()) == 1
    assert "connection" in r.stderr and "secret" not in r.stderr and "u:***@" in r.stderr


def test_a_missing_model_gets_one_line(tmp_path):
    for cmd in (["reanalyze"], ["ingest", SAMPLE_PATH]):
        r = run(*cmd, "--db", tmp_path / "ok.db", "--model", tmp_path / "no-model")
        assert r.exit_code == 1 and r.stderr.startswith("error: no propscope model is installed at")


def test_default_store_is_propscope_db_or_the_environment(fake, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PROPSCOPE_DB", raising=False)
    assert run("ingest", SAMPLE_PATH).exit_code == 0 and (tmp_path / "propscope.db").is_file()
    monkeypatch.setenv("PROPSCOPE_DB", str(tmp_path / "env.db"))
    assert run("ingest", SAMPLE_PATH).exit_code == 0 and (tmp_path / "env.db").is_file()


def _articles(folder: Path, n: int) -> list[Path]:
    """``n`` distinct articles made from the sample (a numbered sentence keeps their texts apart)."""
    title, _, body = SAMPLE_PATH.read_text(encoding="utf-8").partition("\n\n")
    folder.mkdir()
    paths = []
    for i in range(n):
        p = folder / f"article{1000 + i}.txt"
        p.write_text(f"{title} ({i})\n\nDispatch number {i} follows.\n{body}", encoding="utf-8")
        paths.append(p)
    return paths


def _count(db: Path) -> int:
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
        try:
            return con.execute("SELECT count(*) FROM articles").fetchone()[0]
        finally:
            con.close()
    except sqlite3.OperationalError:
        return 0


def test_ingest_killed_with_sigkill_resumes_without_loss_or_duplicates(tmp_path):
    """A real `propscope ingest` with the shipped fast model, killed mid-run: the rerun completes the job."""
    paths = _articles(tmp_path / "news", 24)
    db = tmp_path / "k.db"
    cmd = [
        sys.executable,
        "-m",
        "propscope",
        "ingest",
        str(tmp_path / "news"),
        "--db",
        str(db),
        "--model",
        "fast",
        "--batch-size",
        "2",
    ]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 240
    while _count(db) < 4 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    killed_at = _count(db)
    assert 4 <= killed_at < 24, f"kill came too late or too early ({killed_at} stored)"
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert f"{24 - killed_at} articles added" in done.stderr and f"{killed_at} already stored" in done.stderr
    with Corpus(db) as c:
        stored = {s.article.id: s for s in c.iter_articles()}
        assert sorted(stored) == sorted(str(1000 + i) for i in range(24))
        for p in paths:
            s = stored[p.stem.removeprefix("article")]
            full = c.article(s.id)
            assert full.analysis.article.text == p.read_text(encoding="utf-8").rstrip(
                "\n"
            ) or full.analysis.article.text in p.read_text(encoding="utf-8")
            assert full.analysis.model and full.analysis.sentences and full.analysis.score is not None
            assert full.history == []  # analysed once
        with c.store.read() as conn:
            n_an = conn.exec_driver_sql("SELECT count(*) FROM analyses").scalar()
            orphans = conn.exec_driver_sql(
                "SELECT count(*) FROM spans WHERE analysis_id NOT IN (SELECT id FROM analyses)"
            ).scalar()
        assert n_an == 24 and orphans == 0
