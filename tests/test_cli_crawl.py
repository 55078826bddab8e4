"""`propscope crawl` against the local fake news site, storing into an in-test stand-in for the corpus store.

The stand-in follows the store's contract (``Corpus(db)`` as a context manager, ``has_url``, ``ingest``
returning counts added/skipped/failed); the real store has its own tests.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest
from conftest import FakeDetector
from crawl_site import NewsSite, build_site
from typer.testing import CliRunner

from propscope.cli import _register, app
from propscope.errors import PropscopeError
from propscope.pipeline import analyze_articles
from propscope.schema import Analysis, Article

_register()


class FakeCorpus:
    """Keeps analyses per db name in memory, across instances (like a file would)."""

    stores: dict[str, list[Analysis]] = {}
    broken: set[str] = set()

    def __init__(self, db: str) -> None:
        if db in self.broken:
            raise PropscopeError(f"{db}: not a propscope store (file is not a database)")
        self.db = db
        self.rows = self.stores.setdefault(db, [])

    def __enter__(self) -> FakeCorpus:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def has_url(self, url: str) -> bool:
        return any(a.article.url == url for a in self.rows)

    def ingest(self, articles: Iterable[Article], detector: object = None) -> types.SimpleNamespace:
        report = types.SimpleNamespace(added=0, skipped=0, failed=0, errors=[], warnings=[])
        for art in articles:
            if self.has_url(art.url or ""):
                report.skipped += 1
                continue
            if art.title == "Story number 5":  # as the store reports an article it cannot analyse
                report.errors.append(f"{art.source}: analysis failed (ValueError: test)")
                report.failed += 1
                continue
            self.rows.extend(analyze_articles([art], detector))  # type: ignore[arg-type]
            report.added += 1
        return report


@pytest.fixture
def site() -> Iterator[NewsSite]:
    s = build_site()
    yield s
    s.close()


@pytest.fixture
def store(monkeypatch: pytest.MonkeyPatch) -> type[FakeCorpus]:
    FakeCorpus.stores = {}
    FakeCorpus.broken = set()
    mod = types.ModuleType("propscope.corpus")
    mod.Corpus = FakeCorpus  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "propscope.corpus", mod)
    return FakeCorpus


@pytest.fixture
def detector(monkeypatch: pytest.MonkeyPatch) -> FakeDetector:
    det = FakeDetector()
    monkeypatch.setattr("propscope.cli.crawl.load_detector", lambda *a, **k: det)
    return det


def crawl(*args: object):
    return CliRunner().invoke(app, ["crawl", *map(str, args), "--rate", "500", "--timeout", "2"])


def lines(text: str, prefix: str) -> list[str]:
    return [ln for ln in text.splitlines() if ln.startswith(prefix)]


def test_one_pass_stores_new_articles_and_reports_each_failure(site, store, detector, tmp_path) -> None:
    db = str(tmp_path / "c.db")
    r = crawl(site.url("/feed.rss"), site.url("/feed.atom"), "--db", db)
    assert r.exit_code == 1, r.output  # two entries failed
    stored = store.stores[db]
    assert [a.article.url for a in stored] == [site.url(p) for p in ("/news/1", "/news/2", "/news/3")]
    assert [a.article.site for a in stored] == ["Example News", "Example News", "Atom Times"]
    assert all(a.spans and a.model == detector.name for a in stored)  # analysed with the given detector
    assert lines(r.stderr, "error: ") == [
        f"error: {site.url('/private/secret')}: disallowed by {site.url('/robots.txt')}",
        f"error: {site.url('/gone')}: HTTP 404 Not Found",
    ]
    assert lines(r.stderr, "warning: ") == [
        f"warning: {site.url('/news/2')}: unparseable date 'sometime last week'; the page's date is used"]
    assert lines(r.stderr, "crawl pass: ") == [
        "crawl pass: 2 feeds (6 entries), 0 already stored, 3 articles fetched, 2 failed; "
        "store: 3 added, 0 skipped, 0 failed"]


def test_second_pass_fetches_only_the_feeds(site, store, detector, tmp_path) -> None:
    db = str(tmp_path / "c.db")
    crawl(site.url("/feed.atom"), "--db", db)
    before = len(site.hits)
    r = crawl(site.url("/feed.atom"), "--db", db)
    assert r.exit_code == 0, r.output
    assert site.paths()[before:] == ["/robots.txt", "/feed.atom"]
    assert len(store.stores[db]) == 2
    assert "crawl pass: 1 feed (2 entries), 2 already stored, 0 articles fetched, 0 failed; " \
           "store: 0 added, 0 skipped, 0 failed" in r.stderr


def test_from_file_and_db_from_the_environment(site, store, detector, tmp_path, monkeypatch) -> None:
    listing = tmp_path / "feeds.txt"
    text = f"# my feeds\n\n{site.url('/feed.atom')}\n  {site.url('/moved')}  \n"
    listing.write_text(text, encoding="utf-8")
    monkeypatch.setenv("PROPSCOPE_DB", str(tmp_path / "env.db"))
    r = crawl("--from", listing)
    assert r.exit_code == 0, r.output
    urls = [a.article.url for a in store.stores[str(tmp_path / "env.db")]]
    assert urls == [site.url("/news/3"), site.url("/news/1"), site.url("/moved")]


def test_missing_url_list_is_reported_and_the_urls_still_crawled(site, store, detector, tmp_path) -> None:
    db = str(tmp_path / "c.db")
    r = crawl(site.url("/news/4"), "--from", tmp_path / "nope.txt", "--db", db)
    assert r.exit_code == 1
    assert lines(r.stderr, "error: ") == [f"error: {tmp_path / 'nope.txt'}: cannot read the URL list "
                                          "(No such file or directory)"]
    assert [a.article.url for a in store.stores[db]] == [site.url("/news/4")]


def test_every_keeps_going_until_interrupted(site, store, detector, tmp_path, monkeypatch) -> None:
    waits: list[float] = []

    def fake_sleep(seconds: float) -> None:
        waits.append(seconds)
        if len(waits) == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr("propscope.cli.crawl._sleep", fake_sleep)
    db = str(tmp_path / "c.db")
    r = crawl(site.url("/feed.atom"), "--db", db, "--every", "30m")
    assert r.exit_code == 0, r.output
    assert site.paths().count("/feed.atom") == 2 and len(waits) == 2
    assert all(1790 < w <= 1800 for w in waits)
    assert len(lines(r.stderr, "crawl pass: ")) == 2
    assert "next pass in 30m" in r.stderr and r.stderr.rstrip().endswith("stopped")


def test_store_failure_is_one_line_and_every_goes_on(site, store, detector, tmp_path, monkeypatch) -> None:
    db = str(tmp_path / "bad.db")
    store.broken.add(db)
    r = crawl(site.url("/news/1"), "--db", db)
    assert r.exit_code == 1
    assert lines(r.stderr, "error: ") == [f"error: {db}: not a propscope store (file is not a database)"]

    calls: list[float] = []

    def fake_sleep(seconds: float) -> None:  # the store is repaired during the wait
        calls.append(seconds)
        if len(calls) == 2:
            raise KeyboardInterrupt
        store.broken.discard(db)

    monkeypatch.setattr("propscope.cli.crawl._sleep", fake_sleep)
    store.broken.add(db)
    r = crawl(site.url("/news/1"), "--db", db, "--every", "10s")
    assert r.exit_code == 0
    assert [a.article.url for a in store.stores[db]] == [site.url("/news/1")]


@pytest.mark.parametrize(("args", "message"), [
    ((), "give feed or article URLs, or --from FILE"),
    (("http://x.test/rss", "--every", "often"), "cannot read the interval 'often'"),
    (("http://x.test/rss", "--rate", "0"), "--rate"),
])
def test_usage_errors(args: tuple[str, ...], message: str, store, detector) -> None:
    r = CliRunner().invoke(app, ["crawl", *args], env={"COLUMNS": "200"})
    assert r.exit_code == 2 and message in r.output


def test_crawl_help_lists_the_options() -> None:
    r = CliRunner().invoke(app, ["crawl", "--help"], env={"COLUMNS": "200"})
    assert r.exit_code == 0
    for opt in ("--from", "--db", "--every", "--rate", "--timeout", "--max-size", "--model"):
        assert opt in r.output


def test_no_store_module_is_a_clear_error(site, detector, tmp_path, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "propscope.corpus", None)  # import fails
    r = crawl(site.url("/news/1"), "--db", tmp_path / "x.db")
    assert r.exit_code == 1 and "the corpus store is not available" in r.stderr
    assert Path(tmp_path / "x.db").exists() is False


def test_store_messages_are_printed_and_fail_the_pass(site, store, detector, tmp_path) -> None:
    db = str(tmp_path / "c.db")
    r = crawl(site.url("/news/5"), site.url("/news/1"), "--db", db)
    assert r.exit_code == 1
    assert lines(r.stderr, "error: ") == [f"error: {site.url('/news/5')}: analysis failed (ValueError: test)"]
    assert [a.article.url for a in store.stores[db]] == [site.url("/news/1")]


def test_crawl_into_the_real_store_twice(site, detector, tmp_path) -> None:
    """The same crawl with the real SQLite store: the second pass adds nothing and fetches only the feed."""
    from propscope.corpus import Corpus

    db = str(tmp_path / "real.db")
    r = crawl(site.url("/feed.atom"), "--db", db)
    assert r.exit_code == 0, r.output
    before = len(site.hits)
    r = crawl(site.url("/feed.atom"), "--db", db)
    assert r.exit_code == 0, r.output
    assert site.paths()[before:] == ["/robots.txt", "/feed.atom"]
    with Corpus(db) as c:
        stored = {s.article.url: s for s in c.iter_articles()}
    assert sorted(stored) == sorted([site.url("/news/3"), site.url("/news/1")])
    assert all(s.outlet == "Atom Times" for s in stored.values())
