"""A small corpus store for the Explore tests, built the way users build one: `propscope ingest` of a JSON
Lines file (with the test FakeDetector in place of the model) and `propscope outlets import` of a CSV."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import FakeDetector
from typer.testing import CliRunner

from propscope.cli import _register, app

_register()

BODY = ("Officials said the terrorists in Idlib must wisen up, and that terrorists use civilians as shields "
        "like they always do. Talks resume next week.")
PLAIN = "A quiet report on the harvest. Farmers expect a normal year and prices stay where they were."

OUTLETS_CSV = ("name,domain,allsides_bias\nLeft Wire,leftwire.example,left\n"
               "Right Daily,rightdaily.example,right\nCentre Post,centrepost.example,center\n")

XSS = '<img src=x onerror="window.__xss=1">'
"""A payload that runs script when it is put into the page as HTML; stored in every text field."""


def corpus_rows() -> list[dict[str, Any]]:
    rows = []
    outlets = [("Left Wire", "leftwire"), ("Right Daily", "rightdaily"), ("Centre Post", "centrepost")]
    n = 0
    for month in ("2019-01", "2019-02", "2019-03", "2020-01"):
        for k, (name, dom) in enumerate(outlets):
            n += 1
            loaded = (k == 1) or month == "2020-01"  # Right Daily always, everyone in 2020
            text = f"Report {n} from {name}\n\n" + (BODY if loaded else PLAIN) + f" Item {n}."
            rows.append({"id": f"a{n}", "url": f"https://{dom}.example/story/{n}",
                         "title": f"Report {n} from {name}", "text": text, "source": name,
                         "date": f"{month}-{10 + k:02d}"})
    return rows


def xss_rows() -> list[dict[str, Any]]:
    text = f"{XSS} headline <script>window.__xss=2</script>\n\nThe terrorists must wisen up {XSS} now. End."
    return [{"id": "xss1", "url": f'https://evil.example/"><script>window.__xss=3</script>?q={XSS}',
             "title": f"Title {XSS}<b>bold</b>", "text": text, "source": f"Outlet {XSS}",
             "authors": f"Author {XSS}", "date": "2019-02-20"}]


def build_store(folder: Path, rows: list[dict[str, Any]]) -> Path:
    """Ingest ``rows`` (JSON Lines) and the outlets CSV into folder/store.db with `propscope ingest`."""
    src = folder / "news.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    csv = folder / "outlets.csv"
    csv.write_text(OUTLETS_CSV, encoding="utf-8")
    db = folder / "store.db"
    det = FakeDetector()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("propscope.detect.base.load_detector", lambda *a, **k: det)
        r = CliRunner().invoke(app, ["ingest", str(src), "--db", str(db), "--field", "outlet=source",
                                     "--field", "author=authors"])
        assert r.exit_code == 0, r.output
        r = CliRunner().invoke(app, ["outlets", "import", str(csv), "--db", str(db)])
        assert r.exit_code == 0, r.output
    return db


def reuse_rows(copy_title: str | None = None) -> list[dict[str, Any]]:
    """The planted copies of tests/test_corpus_trace.py as JSON Lines rows (A <- B <- C <- D, E unrelated)
    plus F, an undated copy of E (a link of unknown direction); ``copy_title``: D's title."""
    from test_corpus_trace import UNRELATED, planted

    rows = [{"id": a.id, "text": a.text, "url": a.url, "source": a.site, "date": a.published}
            for a in planted()]
    if copy_title is not None:
        rows[3]["title"] = copy_title
    rows.append({"id": "F", "text": UNRELATED + " The council meets again on Monday to plan the winter fair.",
                 "url": "https://nodate.example/f", "source": "No Date"})
    return rows


def build_traced_store(folder: Path, rows: list[dict[str, Any]]) -> Path:
    """build_store, then `propscope trace --db` over it (results saved in the store)."""
    db = build_store(folder, rows)
    r = CliRunner().invoke(app, ["trace", "--db", str(db), "-f", "json", "-o", str(folder / "trace.json")])
    assert r.exit_code == 0, r.output
    return db
