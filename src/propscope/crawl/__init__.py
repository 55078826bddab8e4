"""The crawler: polite HTTP fetching (fetch), RSS/Atom feeds (feeds), crawl passes yielding Articles (crawl).

    fetch_article(url)                    one page -> Article (refuses private addresses by default)
    crawl_pass(inputs, seen=..., ...)     feeds and pages -> Articles and Problems
    parse_interval("30m")                 seconds between passes for ``--every``

httpx and feedparser load when a function here first needs them.
"""

from __future__ import annotations

from .crawl import CrawlCounts, Problem, crawl_pass, fetch_article, parse_interval
from .feeds import Feed, FeedEntry, parse_feed
from .fetch import Fetcher, FetchError, FetchOptions, Page

__all__ = [
    "CrawlCounts", "Feed", "FeedEntry", "FetchError", "FetchOptions", "Fetcher", "Page", "Problem",
    "crawl_pass", "fetch_article", "parse_feed", "parse_interval",
]
