"""Crawl passes: feed and article URLs in, Articles and one-line Problems out; ``--every`` interval parsing.

    for item in crawl_pass(["https://example.org/rss"], seen=store.has_url):
        print(item)          # an Article, or a Problem (error: input skipped; warning: article kept)
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from typing import Literal
from urllib.parse import urlsplit

from ..errors import InputError
from ..readers.html import article_from_html
from ..schema import Article
from .feeds import FeedEntry, looks_like_feed, parse_feed
from .fetch import Fetcher, FetchError, FetchOptions, Page

MIN_WORDS = 50
"""Pages whose main text has fewer words than this are not taken for articles (index pages, stubs)."""

_HTML_TYPES = ("text/html", "application/xhtml+xml", "application/xml", "text/xml", "")


@dataclass(frozen=True)
class Problem:
    """A one-line report on one input: ``error`` (the input was skipped) or ``warning`` (it was kept)."""

    source: str
    reason: str
    level: Literal["error", "warning"] = "error"

    def __str__(self) -> str:
        return f"{self.source}: {self.reason}"


@dataclass
class CrawlCounts:
    """What one pass did: feeds read, entries listed, URLs skipped as already known, articles, failures."""

    feeds: int = 0
    entries: int = 0
    known: int = 0
    articles: int = 0
    failed: int = 0


def article_id(url: str) -> str:
    """A stable id for the article at ``url``: ``web-`` and 16 hex digits of its SHA-256."""
    return "web-" + hashlib.sha256(url.encode("utf-8")).hexdigest()[:16]


def _names_of_host(*urls: str) -> set[str]:
    """What trafilatura may give as a site name when the page names none: host names, with port and www."""
    out = set()
    for url in urls:
        parts = urlsplit(url)
        for name in (parts.hostname or "", parts.netloc.rsplit("@", 1)[-1]):
            name = name.lower()
            out |= {name, name.removeprefix("www.")}
    return out


def extract_article(
    page: Page,
    *,
    site: str | None = None,
    title: str | None = None,
    published: str | None = None,
    clean: bool = True,
    min_words: int = MIN_WORDS,
) -> Article:
    """Make an Article from a fetched HTML page (trafilatura); raise InputError when it is not an article.

    ``url`` is the URL asked for (what ``seen`` checks), ``source`` the URL after redirects. The site is the
    page's own site name, else ``site`` (the feed's), else None (the store then names the outlet after the
    URL's registered domain); ``published`` (the feed's date) wins over the page's; the page's title wins
    over ``title``.
    """
    if page.content_type not in _HTML_TYPES:
        raise InputError(page.url, f"not an HTML page (content type {page.content_type})")
    text = page.text()
    art = article_from_html(text, id=article_id(page.url), url=page.final_url, source=page.final_url,
                            clean=clean)
    words = len(art.text.split())
    if words < min_words:
        raise InputError(page.url, f"not an article (only {words} words of main text; at least {min_words} "
                                   "expected)")
    page_site = art.site if art.site and art.site.lower() not in _names_of_host(page.url, page.final_url) \
        else None
    return art.model_copy(update={
        "url": page.url,
        "site": page_site or site,
        "published": published or art.published,
        "title": art.title or title,
    })


def _never(url: str) -> bool:
    return False


def crawl_pass(
    inputs: Iterable[str],
    *,
    seen: Callable[[str], bool] = _never,
    fetcher: Fetcher | None = None,
    options: FetchOptions | None = None,
    clean: bool = True,
    min_words: int = MIN_WORDS,
    counts: CrawlCounts | None = None,
) -> Iterator[Article | Problem]:
    """Crawl feed URLs and article URLs once, in order, yielding Articles and Problems as they come.

    A URL for which ``seen(url)`` is true is not fetched (so a feed URL is fetched unless the store holds it
    as an article); a URL met twice in one pass is fetched once. A feed (RSS/Atom, told by its content type
    or root element) yields its entries' articles; any other page is extracted as one article. One failing
    feed or page gives a Problem and the pass goes on. ``counts``, when given, is filled in as the pass runs.
    Uses ``fetcher`` when given (the caller closes it), else a Fetcher made from ``options``.
    """
    c = counts if counts is not None else CrawlCounts()
    f = fetcher if fetcher is not None else Fetcher(options)
    done: set[str] = set()
    try:
        for raw in inputs:
            url = raw.strip()
            if not url or url in done:
                continue
            done.add(url)
            if seen(url):
                c.known += 1
                continue
            try:
                page = f.get(url)
                if not looks_like_feed(page.content_type, page.content):
                    art = extract_article(page, clean=clean, min_words=min_words)
                    c.articles += 1
                    yield art
                    continue
                feed = parse_feed(page.content, page.final_url, page.content_type)
            except InputError as exc:
                c.failed += 1
                yield Problem(url, exc.reason)
                continue
            except Exception as exc:  # a bug or a library failure on one input must not stop the pass
                c.failed += 1
                yield Problem(url, f"unexpected error ({type(exc).__name__}: {exc})")
                continue
            c.feeds += 1
            c.entries += len(feed.entries)
            for w in feed.warnings:
                yield Problem(url, w, "warning")
            for entry in feed.entries:
                if entry.url in done:
                    continue
                done.add(entry.url)
                if seen(entry.url):
                    c.known += 1
                    continue
                yield from _entry(f, entry, feed.site, c, clean=clean, min_words=min_words)
    finally:
        if fetcher is None:
            f.close()


def _entry(f: Fetcher, entry: FeedEntry, site: str | None, c: CrawlCounts, *, clean: bool, min_words: int
           ) -> Iterator[Article | Problem]:
    try:
        page = f.get(entry.url)
        if looks_like_feed(page.content_type, page.content):
            raise InputError(entry.url, "a feed, not an article page")
        art = extract_article(page, site=site, title=entry.title, published=entry.published, clean=clean,
                              min_words=min_words)
    except InputError as exc:
        c.failed += 1
        yield Problem(entry.url, exc.reason)
        return
    except Exception as exc:  # as in crawl_pass: report and go on
        c.failed += 1
        yield Problem(entry.url, f"unexpected error ({type(exc).__name__}: {exc})")
        return
    if entry.date_problem and not art.published:
        yield Problem(entry.url, entry.date_problem, "warning")
    elif entry.date_problem:
        reason = entry.date_problem.replace("left empty", "the page's date is used")
        yield Problem(entry.url, reason, "warning")
    c.articles += 1
    yield art


def fetch_article(
    url: str,
    *,
    options: FetchOptions | None = None,
    allow_private: bool = False,
    clean: bool = True,
    min_words: int = MIN_WORDS,
) -> Article:
    """Fetch one article page and read it (for URL input in the web server and the Python API).

    Private, loopback and link-local addresses are refused unless ``allow_private`` (the resolved addresses
    are checked, and the connection pinned to them). Raises InputError (FetchError for network problems)
    with a one-line reason.

        >>> fetch_article("https://example.org/news/1").title
    """
    opts = replace(options or FetchOptions(), allow_private=allow_private)
    with Fetcher(opts) as f:
        page = f.get(url)
        if looks_like_feed(page.content_type, page.content):
            raise FetchError(url, "a feed, not an article page; use `propscope crawl` for feeds")
        return extract_article(page, clean=clean, min_words=min_words)


_UNITS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hr": 3600, "d": 86400}
_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(sec|min|hr|[smhd])?")


def parse_interval(text: str) -> float:
    """Seconds in an interval such as ``30m``, ``90s``, ``2h``, ``1d``, ``1h30m`` or ``45`` (seconds).

    Raises ValueError for anything else, or for an interval shorter than one second.
    """
    s = text.strip().lower()
    pos, total, parts = 0, 0.0, 0
    while pos < len(s):
        m = _PART.match(s, pos)
        if m is None:
            break
        total += float(m.group(1)) * _UNITS[m.group(2) or "s"]
        pos = m.end()
        parts += 1
        while pos < len(s) and s[pos] == " ":
            pos += 1
    if parts == 0 or pos != len(s):
        raise ValueError(f"cannot read the interval {text!r}; use e.g. 90s, 30m, 2h, 1d or 1h30m")
    if total < 1:
        raise ValueError(f"the interval {text!r} is shorter than one second")
    return total
