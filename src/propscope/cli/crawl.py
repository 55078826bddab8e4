"""`propscope crawl`: fetch feeds and article pages, analyse the new articles and store them in the corpus."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from ..detect.base import load_detector
from ..errors import ModelNotInstalledError
from . import app
from .analyze import ModelOpt

if TYPE_CHECKING:
    from ..crawl import CrawlCounts, FetchOptions
    from ..detect.base import Detector
    from ..schema import Article

_sleep = time.sleep  # tests replace it to end --every loops


def _say(err: Console, line: str) -> None:
    err.print(line, markup=False, highlight=False, soft_wrap=True)


def _read_list(path: Path, err: Console) -> list[str] | None:
    """URLs from a --from file: one per line; blank lines and lines starting with # are skipped."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        _say(err, f"error: {path}: cannot read the URL list ({exc.strerror or exc})")
        return None
    except UnicodeDecodeError:
        _say(err, f"error: {path}: the URL list is not UTF-8 text")
        return None
    return [s for s in (ln.strip() for ln in lines) if s and not s.startswith("#")]


def _duration(seconds: float) -> str:
    s = round(seconds)
    h, rest = divmod(s, 3600)
    m, sec = divmod(rest, 60)
    return "".join(f"{v}{u}" for v, u in ((h, "h"), (m, "m"), (sec, "s")) if v) or "0s"


def _one_pass(urls: list[str], db: str, options: FetchOptions, detector: Detector, err: Console) -> bool:
    """Crawl ``urls`` once into the store ``db``, printing problems and a summary; True when all went well."""
    from ..crawl import CrawlCounts, Problem, crawl_pass

    counts = CrawlCounts()
    errors = 0

    def articles(seen: object) -> Iterator[Article]:
        nonlocal errors
        for item in crawl_pass(urls, seen=seen, options=options, counts=counts):  # type: ignore[arg-type]
            if isinstance(item, Problem):
                errors += item.level == "error"
                _say(err, f"{item.level}: {item}")
            else:
                yield item

    try:
        from ..corpus import Corpus
    except ImportError as exc:
        _say(err, f"error: {db}: the corpus store is not available ({exc})")
        return False
    try:
        with Corpus(db) as c:
            report = c.ingest(articles(c.has_url), detector=detector)
    except Exception as exc:  # a store that is locked, newer, or not a database: one line, then go on
        msg = " ".join(str(exc).split()) or type(exc).__name__
        _say(err, f"error: {msg}" if msg.startswith(db) else f"error: {db}: {msg}")
        _summary(err, counts, None)
        return False
    for level in ("errors", "warnings"):  # the store's own messages (analysis failed, unreadable date...)
        for msg in getattr(report, level, None) or []:
            _say(err, f"{level[:-1]}: {msg}")
    _summary(err, counts, report)
    return errors == 0 and not getattr(report, "failed", 0)


def _summary(err: Console, c: CrawlCounts, report: object | None) -> None:
    line = (f"crawl pass: {c.feeds} feed{'s' * (c.feeds != 1)} ({c.entries} entries), "
            f"{c.known} already stored, {c.articles} article{'s' * (c.articles != 1)} fetched, "
            f"{c.failed} failed")
    if report is not None:
        added, skipped, failed = (getattr(report, k, 0) for k in ("added", "skipped", "failed"))
        line += f"; store: {added} added, {skipped} skipped, {failed} failed"
    _say(err, line)


@app.command()
def crawl(
    inputs: Annotated[list[str] | None, typer.Argument(
        metavar="FEED_OR_URL", help="RSS/Atom feed URLs and article URLs.", show_default=False)] = None,
    from_file: Annotated[Path | None, typer.Option(
        "--from", metavar="FILE", dir_okay=False,
        help="A file of feed or article URLs, one per line (# starts a comment); read before each pass.",
    )] = None,
    db: Annotated[str | None, typer.Option(
        "--db", metavar="PATH|URL",
        help="The store: a SQLite file or a postgresql:// URL. Default: $PROPSCOPE_DB, else propscope.db.",
    )] = None,
    every: Annotated[str | None, typer.Option(
        "--every", metavar="INTERVAL",
        help="Keep going: start a pass every INTERVAL (90s, 30m, 2h, 1d). Default: one pass, then exit.",
    )] = None,
    rate: Annotated[float, typer.Option(
        "--rate", min=0.001, metavar="N", help="At most this many requests per second to one host.")] = 1.0,
    timeout: Annotated[float, typer.Option(
        "--timeout", min=0.001, metavar="SECONDS",
        help="Seconds to wait for a connection, and for each part of an answer.",
    )] = 30.0,
    max_size: Annotated[float, typer.Option(
        "--max-size", min=0.001, metavar="MB", help="Largest page or feed fetched, in MB.")] = 5.0,
    model: ModelOpt = None,
) -> None:
    """Fetch RSS/Atom feeds and article pages, analyse new articles and store them (see docs/crawl.md).

    One pass per call, for cron; --every keeps going. URLs already in the store are not fetched again.
    robots.txt is obeyed. One failing feed or page is reported on one line and skipped.

    Exit code 0: every input crawled; 1: some inputs or the store failed; 2: usage error.
    """
    from ..crawl import FetchOptions, parse_interval

    err = Console(stderr=True, highlight=False)
    if not inputs and from_file is None:
        raise typer.BadParameter("give feed or article URLs, or --from FILE", param_hint="'FEED_OR_URL...'")
    interval = None
    if every is not None:
        try:
            interval = parse_interval(every)
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="'--every'") from None
    options = FetchOptions(connect_timeout=timeout, read_timeout=timeout, rate=rate,
                           max_bytes=max(1, int(max_size * 1024 * 1024)))
    try:
        detector = load_detector(model)
    except ModelNotInstalledError as exc:
        _say(err, f"error: {exc}")
        raise typer.Exit(1) from None
    target = db or os.environ.get("PROPSCOPE_DB") or "propscope.db"

    ok = True
    while True:
        started = time.monotonic()
        urls = list(inputs or [])
        listed = _read_list(from_file, err) if from_file is not None else []
        ok = listed is not None
        ok = _one_pass(urls + (listed or []), target, options, detector, err) and ok
        if interval is None:
            break
        wait = max(0.0, interval - (time.monotonic() - started))
        _say(err, f"next pass in {_duration(wait)} (Ctrl-C stops)")
        try:
            _sleep(wait)
        except KeyboardInterrupt:
            _say(err, "stopped")
            return
    if not ok:
        raise typer.Exit(1)
