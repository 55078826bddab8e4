"""The crawler against a local fake news site: politeness, retries, redirects, feeds and every failure."""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Iterator

import pytest
from crawl_site import NewsSite, build_site, rss

import propscope
from propscope.crawl import (
    CrawlCounts,
    Fetcher,
    FetchError,
    FetchOptions,
    Problem,
    crawl_pass,
    fetch_article,
    parse_feed,
    parse_interval,
)
from propscope.crawl.fetch import RateLimiter, is_public_address
from propscope.schema import Article

FAST = dict(rate=1000.0, connect_timeout=2.0, read_timeout=2.0, retries=1, backoff=0.01)


@pytest.fixture
def site() -> Iterator[NewsSite]:
    s = build_site()
    yield s
    s.close()


def opts(**kw: object) -> FetchOptions:
    return FetchOptions(**{**FAST, **kw})  # type: ignore[arg-type]


def get_error(site: NewsSite, path: str, **kw: object) -> FetchError:
    with Fetcher(opts(**kw)) as f, pytest.raises(FetchError) as info:
        f.get(site.url(path))
    assert info.value.source == site.url(path)
    assert "\n" not in str(info.value)
    return info.value


def run(inputs: list[str], **kw: object) -> tuple[list[Article], list[Problem], CrawlCounts]:
    counts = CrawlCounts()
    items = list(crawl_pass(inputs, counts=counts, **kw))  # type: ignore[arg-type]
    arts = [i for i in items if isinstance(i, Article)]
    return arts, [i for i in items if isinstance(i, Problem)], counts


# -- politeness ------------------------------------------------------------------------------------------


def test_rate_limit_per_host_seen_by_the_server(site: NewsSite) -> None:
    with Fetcher(opts(rate=10.0)) as f:
        for p in ("/news/1", "/news/3", "/news/4"):
            f.get(site.url(p))
    times = [h.time for h in site.hits]
    assert site.paths() == ["/robots.txt", "/news/1", "/news/3", "/news/4"]
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    # 10 requests/s: the client starts requests 0.1 s apart. The server's clock sees arrivals with some
    # scheduling jitter (under load a late arrival shortens the gap after it), so each gap gets a wide margin
    # and the whole run a narrow one; without a limit the gaps on loopback are a few milliseconds.
    assert min(gaps) >= 0.05, gaps
    assert times[-1] - times[0] >= 0.27, gaps


def test_rate_limiter_is_per_host() -> None:
    now = [0.0]
    slept: list[float] = []

    def sleep(s: float) -> None:
        slept.append(s)
        now[0] += s

    lim = RateLimiter(2.0, sleep=sleep, clock=lambda: now[0])
    lim.wait("a.example")
    lim.wait("b.example")
    assert slept == []  # another host does not wait
    lim.wait("a.example")
    assert slept == [0.5]
    lim.set_delay("b.example", 3.0)  # robots.txt Crawl-delay
    lim.wait("b.example")
    lim.wait("b.example")
    assert slept[-1] == pytest.approx(3.0)


def test_user_agent_names_propscope_and_its_version(site: NewsSite) -> None:
    with Fetcher(opts()) as f:
        f.get(site.url("/news/1"))
    ua = f"propscope/{propscope.__version__} "
    assert site.hits and all(h.user_agent.startswith(ua) for h in site.hits)


def test_robots_txt_is_fetched_once_and_obeyed(site: NewsSite) -> None:
    err = get_error(site, "/private/secret")
    assert err.reason == f"disallowed by {site.url('/robots.txt')}"
    assert "/private/secret" not in site.paths()
    with Fetcher(opts()) as f:
        f.get(site.url("/news/1"))
        f.get(site.url("/news/3"))
    assert site.paths().count("/robots.txt") == 2  # once per Fetcher (the first fetcher above, then this one)


def test_robots_txt_rules_for_propscope_and_crawl_delay(site: NewsSite) -> None:
    site.robots = "User-agent: propscope\nDisallow: /news/3\nCrawl-delay: 1\n\nUser-agent: *\nDisallow:\n"
    with Fetcher(opts()) as f:
        f.get(site.url("/news/1"))
        f.get(site.url("/news/4"))
        with pytest.raises(FetchError, match="disallowed by"):
            f.get(site.url("/news/3"))
    t = {h.path: h.time for h in site.hits}
    assert t["/news/4"] - t["/news/1"] >= 0.95


def test_missing_robots_txt_allows_everything(site: NewsSite) -> None:
    site.robots = None
    with Fetcher(opts()) as f:
        assert f.get(site.url("/private/secret")).status == 200


def test_failing_robots_txt_allows_nothing(site: NewsSite) -> None:
    site.routes["/robots.txt"] = lambda n: (503, {}, b"down")
    site.answer = lambda path, n: site.routes.get(path, lambda n: (404, {}, b""))(n)  # type: ignore[method-assign]
    err = get_error(site, "/news/1")
    assert "robots.txt" in err.reason and "HTTP 503" in err.reason
    assert "/news/1" not in site.paths()


def test_robots_can_be_turned_off(site: NewsSite) -> None:
    with Fetcher(opts(robots=False)) as f:
        assert f.get(site.url("/private/secret")).status == 200
    assert "/robots.txt" not in site.paths()


# -- retries and backoff ----------------------------------------------------------------------------------


def test_429_then_200_honours_retry_after(site: NewsSite) -> None:
    with Fetcher(opts(retries=2, backoff=0.01)) as f:
        page = f.get(site.url("/flaky"))
    assert page.status == 200 and b"Flaky story" in page.content
    t = [h.time for h in site.hits if h.path == "/flaky"]
    assert len(t) == 2 and t[1] - t[0] >= 0.95  # Retry-After: 1 beats the 0.01 s backoff


def test_exponential_backoff_on_5xx() -> None:
    s = build_site()
    slept: list[float] = []
    try:
        with Fetcher(opts(retries=3, backoff=0.5), sleep=slept.append) as f:
            page = f.get(s.url("/busy"))
    finally:
        s.close()
    assert page.status == 200 and s.count["/busy"] == 3
    assert [x for x in slept if x > 0.01] == [0.5, 1.0]


def test_5xx_gives_up_after_the_retries(site: NewsSite) -> None:
    err = get_error(site, "/error", retries=2)
    assert err.reason == "HTTP 500 Internal Server Error (after 2 retries)"
    assert site.count["/error"] == 3


def test_too_long_retry_after_is_not_waited_for(site: NewsSite) -> None:
    started = time.monotonic()
    err = get_error(site, "/patience", max_wait=5)
    assert time.monotonic() - started < 2
    assert err.reason == "HTTP 503; the server asks to wait 3600 s (more than 5 s)"


def test_404_is_not_retried(site: NewsSite) -> None:
    assert get_error(site, "/gone", retries=3).reason == "HTTP 404 Not Found"
    assert site.count["/gone"] == 1


# -- redirects, timeouts, size cap, addresses -------------------------------------------------------------


def test_redirect_is_followed(site: NewsSite) -> None:
    with Fetcher(opts()) as f:
        page = f.get(site.url("/moved"))
    assert page.url == site.url("/moved") and page.final_url == site.url("/news/4")
    assert page.content_type == "text/html" and page.charset == "utf-8"


def test_redirect_loop(site: NewsSite) -> None:
    err = get_error(site, "/loop/a")
    assert err.reason == f"redirect loop (HTTP 302 back to {site.url('/loop/a')})"


def test_redirect_limit(site: NewsSite) -> None:
    assert get_error(site, "/chain/0", max_redirects=3).reason == "too many redirects (more than 3)"
    assert site.count["/chain/3"] == 1 and site.count["/chain/4"] == 0


def test_slow_answer_hits_the_read_timeout(site: NewsSite) -> None:
    started = time.monotonic()
    err = get_error(site, "/slow", read_timeout=0.2)
    assert err.reason == "no answer within 0.2 s (read timeout)"
    assert time.monotonic() - started < 0.7
    assert site.count["/slow"] == 1  # timeouts are not retried


@pytest.mark.parametrize("path", ["/big", "/big-stream"])
def test_size_cap_while_streaming(site: NewsSite, path: str) -> None:
    err = get_error(site, path, max_bytes=50_000)
    assert err.reason.startswith("too large (more than 49 KB, the size cap)")
    assert ("Content-Length" in err.reason) == (path == "/big")


def test_unreachable_host() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with Fetcher(opts()) as f, pytest.raises(FetchError) as info:
        f.get(f"http://127.0.0.1:{port}/feed.xml")
    reason = info.value.reason
    assert re.fullmatch(r"cannot connect to 127\.0\.0\.1 \(.*refused.*\) \(after 1 retry\)", reason)
    assert info.value.unreachable


@pytest.mark.parametrize(("url", "reason"), [
    ("ftp://example.org/x", "not an http(s) URL"),
    ("file:///etc/passwd", "not an http(s) URL"),
    ("http:///nohost", "URL has no host name"),
])
def test_bad_urls(url: str, reason: str) -> None:
    with Fetcher(opts()) as f, pytest.raises(FetchError) as info:
        f.get(url)
    assert info.value.reason == reason


@pytest.mark.parametrize(("ip", "public"), [
    ("127.0.0.1", False), ("10.1.2.3", False), ("192.168.0.1", False), ("169.254.169.254", False),
    ("0.0.0.0", False), ("::1", False), ("fc00::1", False), ("fe80::1", False), ("::ffff:127.0.0.1", False),
    ("224.0.0.1", False), ("100.64.0.1", False), ("8.8.8.8", True), ("2001:4860:4860::8888", True),
])
def test_public_addresses(ip: str, public: bool) -> None:
    assert is_public_address(ip) is public


def test_fetch_article_refuses_loopback_by_default(site: NewsSite) -> None:
    for url in (site.url("/news/1"), f"http://localhost:{site.port}/news/1"):
        with pytest.raises(FetchError, match="private or local address"):
            fetch_article(url)
    assert site.hits == []
    art = fetch_article(site.url("/news/1"), options=opts(), allow_private=True)
    assert art.title == "Story number 1" and art.url == site.url("/news/1")


def test_private_check_uses_resolved_addresses_and_pins_them(site: NewsSite, monkeypatch) -> None:
    mixed = Fetcher(opts(allow_private=False), resolver=lambda host, port: ["93.184.216.34", "10.0.0.7"])
    with mixed, pytest.raises(FetchError, match=r"news\.example: it resolves to a private.*10\.0\.0\.7"):
        mixed.get("http://news.example/a")
    # Pretend loopback is public: the request must go to the checked address, with the name as Host.
    monkeypatch.setattr("propscope.crawl.fetch.is_public_address", lambda ip: True)
    pinned = Fetcher(opts(allow_private=False), resolver=lambda host, port: ["127.0.0.1"])
    with pinned:
        page = pinned.get(f"http://news.example:{site.port}/news/1")
    assert page.status == 200
    assert {h.host for h in site.hits} == {f"news.example:{site.port}"}


# -- feeds and crawl passes -------------------------------------------------------------------------------


def test_crawl_pass_reads_rss_and_atom(site: NewsSite) -> None:
    arts, problems, counts = run([site.url("/feed.rss"), site.url("/feed.atom")], options=opts())
    by_url = {a.url: a for a in arts}
    assert list(by_url) == [site.url(p) for p in ("/news/1", "/news/2", "/news/3")]
    one, two, three = by_url.values()
    assert (one.title, one.site, one.published) == ("Story number 1", "Example News", "2026-11-24T09:00:00Z")
    assert (three.site, three.published) == ("Atom Times", "2026-11-25T08:30:00Z")
    assert two.published == "2026-11-19"  # the feed's date is unreadable: the page's date is used
    assert "The city council met on Tuesday" in one.text and one.id.startswith("web-")
    assert [(p.source, p.reason, p.level) for p in problems] == [
        (site.url("/news/2"), "unparseable date 'sometime last week'; the page's date is used", "warning"),
        (site.url("/private/secret"), f"disallowed by {site.url('/robots.txt')}", "error"),
        (site.url("/gone"), "HTTP 404 Not Found", "error"),
    ]
    assert (counts.feeds, counts.entries, counts.articles, counts.failed) == (2, 6, 3, 2)
    assert site.count["/news/1"] == 1  # listed in both feeds, fetched once


def test_unparseable_date_without_a_page_date_is_left_empty(site: NewsSite) -> None:
    site.page("/odd.rss", rss("Odd", [("x", site.url("/news/4"), "32 Foo 20xx")]), "application/rss+xml")
    arts, problems, _ = run([site.url("/odd.rss")], options=opts())
    assert arts[0].published is None
    assert [str(p) for p in problems] == [
        f"{site.url('/news/4')}: unparseable date '32 Foo 20xx'; left empty"]


def test_known_urls_are_not_fetched(site: NewsSite) -> None:
    known = {site.url("/news/1"), site.url("/news/5")}
    inputs = [site.url("/feed.rss"), site.url("/news/5")]
    arts, _, counts = run(inputs, options=opts(), seen=known.__contains__)
    assert site.url("/news/1") not in {a.url for a in arts}
    assert "/news/1" not in site.paths() and "/news/5" not in site.paths()
    assert counts.known == 2


def test_one_failing_input_does_not_stop_the_pass(site: NewsSite) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}/rss"
    inputs = [dead, site.url("/bad.xml"), site.url("/sections"), site.url("/logo.png"), site.url("/slow"),
              site.url("/big"), site.url("/moved"), site.url("/own-site")]
    arts, problems, counts = run(inputs, options=opts(read_timeout=0.2, max_bytes=50_000))
    assert [a.url for a in arts] == [site.url("/moved"), site.url("/own-site")]
    assert arts[0].source == site.url("/news/4") and arts[0].site is None
    assert arts[1].site == "The Daily Page"
    reasons = {p.source: p.reason for p in problems}
    assert list(reasons) == inputs[:6]
    assert reasons[dead].startswith("cannot connect to 127.0.0.1 (")
    assert reasons[site.url("/bad.xml")] == "malformed feed XML (mismatched tag at line 1, column 105)"
    assert reasons[site.url("/sections")].startswith("not an article (only 8 words of main text")
    assert reasons[site.url("/logo.png")] == "not an HTML page (content type image/png)"
    assert reasons[site.url("/slow")] == "no answer within 0.2 s (read timeout)"
    assert reasons[site.url("/big")].startswith("too large")
    assert counts.failed == 6 and all(p.level == "error" for p in problems)


def test_broken_feed_that_still_gives_links_is_read_with_a_warning() -> None:
    data = b'<?xml version="1.0"?><rss version="2.0"><channel><title>Half</title><item><title>a</title>' \
           b"<link>https://example.org/a</link></item><item><title>b</titl></item>"
    feed = parse_feed(data, "https://example.org/rss", "application/rss+xml")
    assert [e.url for e in feed.entries] == ["https://example.org/a"]
    assert feed.warnings and feed.warnings[0].startswith("feed XML is malformed (")


def test_non_feed_xml_is_refused() -> None:
    with pytest.raises(propscope.InputError, match="malformed feed XML"):
        parse_feed(b"not xml <<< at all", "https://example.org/x.xml", "application/xml")


def test_fetch_article_refuses_a_feed(site: NewsSite) -> None:
    with pytest.raises(FetchError, match="a feed, not an article page"):
        fetch_article(site.url("/feed.rss"), options=opts(), allow_private=True)


@pytest.mark.parametrize(("text", "seconds"), [
    ("30m", 1800), ("90s", 90), ("2h", 7200), ("1d", 86400), ("1h30m", 5400), ("45", 45), (" 1.5h ", 5400),
    ("10 min", 600),
])
def test_parse_interval(text: str, seconds: float) -> None:
    assert parse_interval(text) == seconds


@pytest.mark.parametrize("text", ["", "soon", "30x", "m30", "0s", "0.5s", "-5m"])
def test_parse_interval_refuses(text: str) -> None:
    with pytest.raises(ValueError, match="interval"):
        parse_interval(text)


def test_importing_propscope_does_not_load_httpx_or_feedparser() -> None:
    import subprocess
    import sys

    code = ("import sys, propscope, propscope.crawl\n"
            "print(sorted(m for m in ('httpx', 'feedparser') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize(("ctype", "body", "feed"), [
    ("application/rss+xml", b"anything", True),
    ("application/xml", b'<?xml version="1.0"?><rss version="2.0"></rss>', True),
    ("text/xml", b"<broken", True),
    ("application/xml", b'<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml">', False),
    ("text/html", b"<rss>", False),
    ("", b'\xef\xbb\xbf<?xml version="1.0"?>\n<feed xmlns="http://www.w3.org/2005/Atom">', True),
    ("text/plain", b"<rss version='2.0'>", True),
    ("", b"<!doctype html><html><body>rss</body></html>", False),
])
def test_feed_sniffing(ctype: str, body: bytes, feed: bool) -> None:
    from propscope.crawl.feeds import looks_like_feed

    assert looks_like_feed(ctype, body) is feed


def test_redirect_to_a_private_address_is_refused(site: NewsSite, monkeypatch) -> None:
    addresses = {"public.example": ["127.0.0.1"], "internal.example": ["10.0.0.9"]}
    monkeypatch.setattr("propscope.crawl.fetch.is_public_address", lambda ip: ip == "127.0.0.1")
    site.routes["/to-internal"] = lambda n: (302, {"Location": "http://internal.example/admin"}, b"")
    with Fetcher(opts(allow_private=False), resolver=lambda h, p: addresses[h]) as f, \
            pytest.raises(FetchError) as info:
        f.get(f"http://public.example:{site.port}/to-internal")
    assert info.value.reason == ("refusing internal.example: it resolves to a private or local address "
                                 "(10.0.0.9)")
    assert site.paths() == ["/robots.txt", "/to-internal"]


def test_page_in_the_charset_the_server_names(site: NewsSite) -> None:
    from crawl_site import article_html

    body = article_html("Café crème über alles").encode("iso-8859-1")
    site.routes["/latin1"] = lambda n: (200, {"Content-Type": "text/html; charset=ISO-8859-1"}, body)
    art = fetch_article(site.url("/latin1"), options=opts(), allow_private=True)
    assert art.title == "Café crème über alles"


def test_retry_after_as_an_http_date() -> None:
    import email.utils

    import httpx

    from propscope.crawl.fetch import _retry_after

    soon = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 28 <= _retry_after(httpx.Headers({"Retry-After": soon})) <= 30
    assert _retry_after(httpx.Headers({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})) == 0.0
    assert _retry_after(httpx.Headers({"Retry-After": "soon"})) == 0.0
    assert _retry_after(httpx.Headers({"Retry-After": "7"})) == 7.0


def test_a_download_that_drips_in_hits_the_total_timeout(site: NewsSite) -> None:
    site.drip["/big"] = 0.05  # each KB well within the read timeout, the whole page (300 KB) not in 0.25 s
    started = time.monotonic()
    err = get_error(site, "/big", read_timeout=1.0, total_timeout=0.25)
    assert err.reason == "download took longer than 0.25 s"
    assert time.monotonic() - started < 1.0
