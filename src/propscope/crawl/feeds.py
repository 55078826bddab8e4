"""RSS and Atom feeds (feedparser): entries become article URLs with titles, dates and a site name."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urljoin

from ..errors import InputError

_FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/rdf+xml", "application/x-rss+xml")
_XML_TYPES = ("application/xml", "text/xml")
_FEED_ROOT = re.compile(rb"<(rss|feed|rdf:RDF)[\s>]", re.IGNORECASE)


@dataclass(frozen=True)
class FeedEntry:
    """One feed item: the article's URL, and what the feed says about it."""

    url: str
    title: str | None = None
    published: str | None = None
    """ISO 8601 date and time in UTC, when the feed gives a date it can read."""
    date_problem: str | None = None
    """Set when the entry has a date that cannot be read (the entry is kept, without a date)."""


@dataclass
class Feed:
    """A parsed feed: its site name, its entries in feed order, and non-fatal problems (one line each)."""

    url: str
    site: str | None
    entries: list[FeedEntry] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def looks_like_feed(content_type: str, content: bytes) -> bool:
    """True for a feed: a feed media type, generic XML (``application/xml``, ``text/xml``) that is not XHTML,
    or a body of another type whose root element is rss, feed or rdf:RDF."""
    if content_type in _FEED_TYPES:
        return True
    if content_type in ("text/html", "application/xhtml+xml"):
        return False
    head = content[:2048].lstrip(b"\xef\xbb\xbf \t\r\n")
    if content_type in _XML_TYPES:
        return re.search(rb"<html[\s>]", head, re.IGNORECASE) is None
    return bool(_FEED_ROOT.search(head)) and (head.startswith(b"<?xml") or _FEED_ROOT.match(head) is not None)


def _iso(parsed: object) -> str | None:
    try:
        ts = calendar.timegm(parsed)  # type: ignore[arg-type]  # feedparser gives a UTC struct_time
        return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")
    except (TypeError, ValueError, OverflowError):
        return None


def _entry_date(entry: dict) -> tuple[str | None, str | None]:
    """(ISO date, problem) from an entry's published, else updated, date."""
    for key in ("published", "updated", "created"):
        raw = entry.get(key)
        if not raw:
            continue
        iso = _iso(entry.get(f"{key}_parsed"))
        if iso is None:
            return None, f"unparseable date {str(raw).strip()[:60]!r}; left empty"
        return iso, None
    return None, None


def parse_feed(content: bytes, url: str, content_type: str | None = None) -> Feed:
    """Parse an RSS or Atom document fetched from ``url``; relative links are resolved against ``url``.

    Raises InputError ("malformed feed XML ...") when the document is not a feed that gives any links;
    a feed that is broken but still yields links is read, with a warning.
    """
    import feedparser

    headers = {"content-location": url}
    if content_type:
        headers["content-type"] = content_type
    # feedparser is handed bytes, never a URL: it must not fetch anything by itself.
    d = feedparser.parse(content, response_headers=headers)
    exc = d.get("bozo_exception") if d.get("bozo") else None
    xml_error = exc is not None and not isinstance(
        exc, (feedparser.NonXMLContentType, feedparser.CharacterEncodingOverride))
    why = f"{type(exc).__name__}: {exc}" if xml_error else ""
    if xml_error and hasattr(exc, "getMessage") and hasattr(exc, "getLineNumber"):
        why = f"{exc.getMessage()} at line {exc.getLineNumber()}, column {exc.getColumnNumber()}"
    feed = Feed(url=url, site=(d.feed.get("title") or "").strip() or None)
    seen: set[str] = set()
    for e in d.entries:
        link = (e.get("link") or "").strip()
        if not link:
            links = [x.get("href") for x in e.get("links", []) if x.get("href")]
            link = links[0] if links else ""
        if not link:
            continue
        link = urljoin(url, link)
        if link in seen:
            continue
        seen.add(link)
        published, problem = _entry_date(e)
        feed.entries.append(FeedEntry(url=link, title=(e.get("title") or "").strip() or None,
                                      published=published, date_problem=problem))
    if not feed.entries:
        if xml_error:
            raise InputError(url, f"malformed feed XML ({why})")
        if d.get("version", "") == "" and not d.feed:
            raise InputError(url, "not an RSS or Atom feed")
    elif xml_error:
        feed.warnings.append(f"feed XML is malformed ({why}); read {len(feed.entries)} entries anyway")
    return feed
