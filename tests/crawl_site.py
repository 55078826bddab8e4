"""A fake news site for crawler tests: a threaded HTTP server on 127.0.0.1 (random port) serving feeds,
article pages, redirects, errors, slow and oversized answers and a robots.txt; it logs every request."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

BODY = (
    "The city council met on Tuesday to discuss the new budget for schools and roads. Several members said "
    "the plan would raise local taxes, while others argued that the money was long overdue. The mayor told "
    "reporters that the terrorists who attacked the depot last year had cost the city millions, and that "
    "residents should wisen up about security. A vote is expected next month after public hearings in each "
    "district. Local business owners asked for more time to study the proposal before any decision is made."
)


def article_html(title: str, *, site: str | None = None, date: str | None = None, extra: str = "") -> str:
    """An article page with about 90 words of body text."""
    meta = f'<meta property="og:site_name" content="{site}">' if site else ""
    if date:
        meta += f'<meta name="date" content="{date}">'
    paras = "".join(f"<p>{s.strip()}.</p>" for s in BODY.split(". ") if s.strip())
    return (f"<!doctype html><html><head><title>{title}</title>{meta}</head><body>"
            f"<nav><a href='/'>Home</a> <a href='/world'>World</a></nav>"
            f"<article><h1>{title}</h1>{paras}{extra}</article><footer>Contact us</footer></body></html>")


NAV_PAGE = """<!doctype html><html><head><title>Sections</title></head><body>
<nav><ul><li><a href="/world">World</a></li><li><a href="/politics">Politics</a></li></ul></nav>
<h1>Sections</h1><ul><li><a href="/news/1">Story one</a></li><li><a href="/news/2">Story two</a></li></ul>
<footer>Copyright 2026 Example News.</footer></body></html>"""


def rss(site: str, items: list[tuple[str, str, str | None]]) -> str:
    """An RSS 2.0 feed; items are (title, link, pubDate or None)."""
    body = "".join(
        f"<item><title>{t}</title><link>{link}</link>{f'<pubDate>{d}</pubDate>' if d else ''}</item>"
        for t, link, d in items)
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{site}</title>'
            f"<link>http://example.test/</link><description>news</description>{body}</channel></rss>")


def atom(site: str, entries: list[tuple[str, str, str]]) -> str:
    """An Atom feed; entries are (title, href, updated)."""
    body = "".join(f'<entry><title>{t}</title><link href="{h}"/><id>{h}</id><updated>{u}</updated></entry>'
                   for t, h, u in entries)
    return (f'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
            f"<title>{site}</title><id>urn:x</id><updated>2026-11-20T00:00:00Z</updated>{body}</feed>")


MALFORMED_FEED = ('<?xml version="1.0"?><rss version="2.0"><channel><title>Broken</title>'
                  "<item><title>one</titl></item><<<")


@dataclass(frozen=True)
class Hit:
    """One request as the server saw it."""

    time: float
    path: str
    user_agent: str
    host: str


Answer = tuple[int, dict[str, str], bytes]


class NewsSite:
    """The server and its routes. ``routes`` maps a path to a function of the hit number (1, 2, ...) that
    returns (status, headers, body); ``slow`` maps a path to seconds to wait before answering; ``drip`` to
    seconds to wait after each KB of the body; ``stream`` lists paths answered without a Content-Length."""

    def __init__(self) -> None:
        self.hits: list[Hit] = []
        self.count: Counter[str] = Counter()
        self.routes: dict[str, Callable[[int], Answer]] = {}
        self.slow: dict[str, float] = {}
        self.stream: set[str] = set()
        self.drip: dict[str, float] = {}
        self.robots = "User-agent: *\nDisallow: /private/\n"
        self._lock = threading.Lock()
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                path = self.path.split("?", 1)[0]
                with site._lock:
                    site.hits.append(Hit(time.monotonic(), path, self.headers.get("User-Agent", ""),
                                         self.headers.get("Host", "")))
                    site.count[path] += 1
                    n = site.count[path]
                if path in site.slow:
                    time.sleep(site.slow[path])
                status, headers, body = site.answer(path, n)
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                if path not in site.stream:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                step = 1024 if path in site.drip else 16384
                try:
                    for i in range(0, len(body), step):
                        self.wfile.write(body[i:i + step])
                        if path in site.drip:
                            self.wfile.flush()
                            time.sleep(site.drip[path])
                except OSError:  # the client gave up (size cap, timeout)
                    pass

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.handle_error = lambda *a: None  # type: ignore[method-assign]
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True)
        self._thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def paths(self) -> list[str]:
        return [h.path for h in self.hits]

    def answer(self, path: str, n: int) -> Answer:
        if path == "/robots.txt":
            if self.robots is None:
                return 404, {}, b"not found"
            return 200, {"Content-Type": "text/plain"}, self.robots.encode()
        route = self.routes.get(path)
        if route is None:
            return 404, {"Content-Type": "text/html"}, b"<html><body>Not found</body></html>"
        return route(n)

    def page(self, path: str, html: str, content_type: str = "text/html; charset=utf-8") -> None:
        self.routes[path] = lambda n: (200, {"Content-Type": content_type}, html.encode("utf-8"))

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def html(body: str) -> Answer:
    return 200, {"Content-Type": "text/html; charset=utf-8"}, body.encode("utf-8")


def build_site() -> NewsSite:
    """The standard site used by the crawler tests."""
    s = NewsSite()
    u = s.url
    s.page("/feed.rss", rss("Example News", [
        ("First story", u("/news/1"), "Tue, 24 Nov 2026 10:00:00 +0100"),
        ("Second story", "/news/2", "sometime last week"),
        ("Secret story", u("/private/secret"), None),
        ("Gone story", u("/gone"), None),
    ]), "application/rss+xml")
    s.page("/feed.atom", atom("Atom Times", [
        ("Third story", u("/news/3"), "2026-11-25T08:30:00Z"),
        ("First again", u("/news/1"), "2026-11-24T09:00:00Z"),
    ]), "application/atom+xml; charset=utf-8")
    s.page("/bad.xml", MALFORMED_FEED, "application/rss+xml")
    for i in (1, 3, 4, 5):
        s.page(f"/news/{i}", article_html(f"Story number {i}"))
    s.page("/news/2", article_html("Story number 2", date="2026-11-19"))
    s.page("/own-site", article_html("Story with a site name", site="The Daily Page"))
    s.page("/private/secret", article_html("Secret"))
    s.page("/sections", NAV_PAGE)
    s.routes["/logo.png"] = lambda n: (200, {"Content-Type": "image/png"}, b"\x89PNG\r\n\x1a\n" + bytes(200))
    s.routes["/moved"] = lambda n: (301, {"Location": "/news/4"}, b"")
    s.routes["/loop/a"] = lambda n: (302, {"Location": u("/loop/b")}, b"")
    s.routes["/loop/b"] = lambda n: (302, {"Location": "/loop/a"}, b"")
    for i in range(10):
        s.routes[f"/chain/{i}"] = lambda n, i=i: (302, {"Location": f"/chain/{i + 1}"}, b"")
    s.routes["/error"] = lambda n: (500, {"Content-Type": "text/plain"}, b"boom")
    s.routes["/flaky"] = lambda n: ((429, {"Retry-After": "1"}, b"slow down") if n == 1
                                    else html(article_html("Flaky story")))
    s.routes["/busy"] = lambda n: ((503, {}, b"busy") if n <= 2 else html(article_html("Busy story")))
    s.routes["/patience"] = lambda n: (503, {"Retry-After": "3600"}, b"come back in an hour")
    s.page("/slow", article_html("Slow story"))
    s.slow["/slow"] = 0.8
    big = article_html("Big story", extra="<p>" + "filler words " * 25_000 + "</p>")
    s.page("/big", big)
    s.page("/big-stream", big)
    s.stream.add("/big-stream")
    return s
