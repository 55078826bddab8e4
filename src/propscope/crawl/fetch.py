"""Polite HTTP fetching with httpx: timeouts, size cap, redirects, robots.txt, per-host rate limits, retries.

    with Fetcher(FetchOptions(rate=1.0)) as f:
        page = f.get("https://example.org/news/1")   # a Page, or FetchError with a one-line reason

Every request carries a User-Agent naming propscope and its version. robots.txt is read once per site and
obeyed (RFC 9309: a missing robots.txt allows everything, an unreachable or failing one allows nothing).
Requests to one host start at most ``rate`` times a second (slower when robots.txt asks for a Crawl-delay).
429 and 5xx answers and dropped connections are retried with exponential backoff, honouring Retry-After.
With ``allow_private=False`` every host is resolved first, refused when any address is private, loopback,
link-local or otherwise not public, and the connection is pinned to the checked address (no DNS rebinding).
"""

from __future__ import annotations

import email.utils
import ipaddress
import re
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC
from typing import TYPE_CHECKING
from urllib.parse import urljoin
from urllib.robotparser import RobotFileParser

from ..errors import InputError
from ..readers.decode import decode_bytes

if TYPE_CHECKING:
    import httpx

ROBOTS_TOKEN = "propscope"
"""The product token that robots.txt rules name to address propscope (``User-agent: propscope``)."""

DEFAULT_MAX_BYTES = 5 * 1024 * 1024
"""Largest page or feed fetched by default: 5 MiB (after decompression)."""

ROBOTS_MAX_BYTES = 512 * 1024
"""Largest robots.txt read (RFC 9309 asks crawlers to read at least 500 KiB)."""

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
"""HTTP statuses that are retried with backoff."""

Resolver = Callable[[str, int], list[str]]
"""``resolver(host, port) -> IP addresses``; used only when private addresses are refused."""


def user_agent() -> str:
    """The User-Agent header propscope sends, e.g. ``propscope/0.1.0 (+news propaganda analysis; ...)``."""
    from .. import __version__

    return f"{ROBOTS_TOKEN}/{__version__} (news propaganda analysis; obeys robots.txt)"


class FetchError(InputError):
    """A URL could not be fetched; ``reason`` says why in one line (HTTP status, timeout, robots.txt...).

    ``unreachable`` is true when no connection to the host could be made at all.
    """

    def __init__(self, source: str, reason: str, *, unreachable: bool = False) -> None:
        super().__init__(source, reason)
        self.unreachable = unreachable


@dataclass(frozen=True)
class FetchOptions:
    """How politely and how far a Fetcher goes. Times in seconds, ``rate`` in requests per second per host."""

    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    total_timeout: float = 120.0
    """Longest time one download may take, however steadily the bytes drip in."""
    max_bytes: int = DEFAULT_MAX_BYTES
    max_redirects: int = 5
    rate: float = 1.0
    retries: int = 3
    backoff: float = 2.0
    """First retry waits this long, the next twice as long, and so on (or longer when Retry-After says so)."""
    max_wait: float = 300.0
    """A server that asks (Retry-After) for a longer wait than this is given up on for this pass."""
    robots: bool = True
    allow_private: bool = True
    """False: refuse hosts that resolve to private, loopback, link-local or other non-public addresses."""
    user_agent: str = field(default_factory=user_agent)
    trust_env: bool = True
    """Use proxy settings from the environment (never when private addresses are refused)."""

    def __post_init__(self) -> None:
        for name in ("connect_timeout", "read_timeout", "total_timeout", "rate"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be greater than 0, not {getattr(self, name)}")
        for name in ("max_bytes",):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, not {getattr(self, name)}")
        for name in ("max_redirects", "retries", "backoff", "max_wait"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative, not {getattr(self, name)}")


@dataclass(frozen=True)
class Page:
    """A fetched document: the URL asked for, the URL it came from after redirects, and its bytes."""

    url: str
    final_url: str
    status: int
    content_type: str
    """Media type without parameters, lower case (``text/html``); empty when the server sent none."""
    charset: str | None
    content: bytes

    def text(self) -> str:
        """The content as text, in the charset the server named, else in one detected from the bytes."""
        if self.charset:
            try:
                text = self.content.decode(self.charset)
            except (LookupError, UnicodeDecodeError):
                pass
            else:
                if not text.strip():
                    raise FetchError(self.url, "empty page")
                return text.replace("\r\n", "\n").replace("\r", "\n")
        try:
            return decode_bytes(self.content, self.url)
        except InputError as exc:
            raise FetchError(self.url, exc.reason.replace("file", "page")) from None


class RateLimiter:
    """Spaces the starts of requests to one host by at least ``1 / rate`` seconds (thread-safe)."""

    def __init__(self, rate: float, *, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.interval = 1.0 / rate
        self._sleep = sleep
        self._clock = clock
        self._next: dict[str, float] = {}
        self._delay: dict[str, float] = {}
        self._lock = threading.Lock()

    def set_delay(self, host: str, seconds: float) -> None:
        """Space requests to ``host`` by at least ``seconds`` (robots.txt Crawl-delay)."""
        with self._lock:
            self._delay[host] = seconds

    def wait(self, host: str) -> None:
        """Block until a request to ``host`` may start, and book that start."""
        with self._lock:
            now = self._clock()
            start = max(now, self._next.get(host, now))
            self._next[host] = start + max(self.interval, self._delay.get(host, 0.0))
        if start > now:
            self._sleep(start - now)


class _Transient(Exception):
    """A dropped or refused connection: retried like a 5xx answer."""

    def __init__(self, reason: str, *, unreachable: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.unreachable = unreachable


@dataclass
class _Answer:
    status: int
    reason: str
    headers: httpx.Headers
    content: bytes
    retried: int = 0


def _resolve(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def is_public_address(ip: str) -> bool:
    """True for a globally routable unicast address (not private, loopback, link-local, multicast...)."""
    try:
        addr = ipaddress.ip_address(ip.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    return addr.is_global and not addr.is_multicast


def _short(exc: BaseException) -> str:
    """An exception's message without ``[Errno N]`` noise, on one line."""
    msg = re.sub(r"\[Errno -?\d+\]\s*", "", str(exc)).strip() or type(exc).__name__
    return " ".join(msg.split())


def _retry_after(headers: httpx.Headers) -> float:
    value = headers.get("retry-after", "").strip()
    if not value:
        return 0.0
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return 0.0
    if when.tzinfo is None:  # HTTP dates are in GMT
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - time.time())


def _mb(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MB" if n >= 100 * 1024 else f"{n / 1024:.0f} KB"


class Fetcher:
    """A polite HTTP client (see the module docstring); use it as a context manager, or call ``close()``."""

    def __init__(
        self,
        options: FetchOptions | None = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        resolver: Resolver | None = None,
    ) -> None:
        import httpx

        self.options = o = options or FetchOptions()
        self._sleep = sleep
        self._clock = clock
        self._resolver = resolver or _resolve
        self._limiter = RateLimiter(o.rate, sleep=sleep, clock=clock)
        self._robots: dict[str, RobotFileParser | FetchError] = {}
        self._lock = threading.Lock()
        self._client = httpx.Client(
            timeout=httpx.Timeout(connect=o.connect_timeout, read=o.read_timeout, write=o.read_timeout,
                                  pool=o.connect_timeout),
            follow_redirects=False,
            headers={"User-Agent": o.user_agent},
            trust_env=o.trust_env and o.allow_private,
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def get(self, url: str) -> Page:
        """Fetch ``url`` (following redirects); raise FetchError unless the final answer is a success."""
        return self._follow(url, url, robots=self.options.robots, max_bytes=self.options.max_bytes)

    # -- redirects, status ------------------------------------------------------------------------------

    def _follow(self, url: str, source: str, *, robots: bool, max_bytes: int, accept_errors: bool = False
                ) -> Page:
        o = self.options
        current = self._check_url(url, source)
        visited = {str(current)}
        for _ in range(o.max_redirects + 1):
            if robots:
                self._check_robots(current, source)
            ans = self._request(current, source, max_bytes)
            if 300 <= ans.status < 400 and ans.status != 304 and "location" in ans.headers:
                nxt = self._check_url(urljoin(str(current), ans.headers["location"]), source)
                if str(nxt) in visited:
                    raise FetchError(source, f"redirect loop (HTTP {ans.status} back to {nxt})")
                visited.add(str(nxt))
                current = nxt
                continue
            if ans.status >= 400 and not accept_errors:
                why = f"HTTP {ans.status} {ans.reason}".strip()
                if ans.retried:
                    why += f" (after {ans.retried} retr{'y' if ans.retried == 1 else 'ies'})"
                if str(current) != url:
                    why += f" at {current}"
                raise FetchError(source, why)
            ctype = ans.headers.get("content-type", "")
            media = ctype.split(";", 1)[0].strip().lower()
            m = re.search(r"charset\s*=\s*\"?([\w.:-]+)", ctype, re.IGNORECASE)
            return Page(url=url, final_url=str(current), status=ans.status, content_type=media,
                        charset=m.group(1) if m else None, content=ans.content)
        raise FetchError(source, f"too many redirects (more than {o.max_redirects})")

    @staticmethod
    def _check_url(url: str, source: str) -> httpx.URL:
        import httpx

        try:
            u = httpx.URL(url.strip())
        except (httpx.InvalidURL, TypeError, ValueError) as exc:
            raise FetchError(source, f"not a valid URL ({_short(exc)})") from None
        if u.scheme not in ("http", "https"):
            raise FetchError(source, "not an http(s) URL")
        if not u.host:
            raise FetchError(source, "URL has no host name")
        return u.copy_with(fragment=None)

    # -- robots.txt ----------------------------------------------------------------------------------------

    def _check_robots(self, url: httpx.URL, source: str) -> None:
        origin = f"{url.scheme}://{url.netloc.decode('ascii')}"
        with self._lock:
            rules = self._robots.get(origin)
        if rules is None:
            rules = self._load_robots(origin, url.host, source)
            with self._lock:
                self._robots[origin] = rules
        if isinstance(rules, FetchError):  # robots.txt could not be read: nothing is fetched from the site
            raise FetchError(source, rules.reason, unreachable=rules.unreachable)
        if not rules.can_fetch(ROBOTS_TOKEN, str(url)):
            raise FetchError(source, f"disallowed by {origin}/robots.txt")

    def _load_robots(self, origin: str, host: str, source: str) -> RobotFileParser | FetchError:
        """The rules of ``origin``'s robots.txt, or the FetchError to raise for every URL of the site."""
        robots_url = f"{origin}/robots.txt"
        try:
            page = self._follow(robots_url, source, robots=False, max_bytes=ROBOTS_MAX_BYTES,
                                accept_errors=True)
        except FetchError as exc:
            if exc.unreachable or exc.reason.startswith("refusing "):  # the page cannot be fetched either
                return exc
            why = exc.reason
        else:
            if page.status >= 500:
                why = f"HTTP {page.status}"
            else:
                rules = RobotFileParser(robots_url)
                text = page.content.decode("utf-8", errors="replace") if page.status < 400 else ""
                rules.parse(text.splitlines())  # 4xx: no robots.txt, everything is allowed
                delay = rules.crawl_delay(ROBOTS_TOKEN)
                if delay:
                    self._limiter.set_delay(host, min(float(delay), self.options.max_wait))
                return rules
        return FetchError(source, f"robots.txt of {origin} unavailable ({why}); not fetching from this site")

    # -- one request with retries --------------------------------------------------------------------------

    def _request(self, url: httpx.URL, source: str, max_bytes: int) -> _Answer:
        o = self.options
        attempt = 0
        while True:
            self._limiter.wait(url.host)
            try:
                ans = self._once(url, source, max_bytes)
            except _Transient as exc:
                if attempt >= o.retries:
                    tail = f" (after {attempt} retr{'y' if attempt == 1 else 'ies'})" if attempt else ""
                    raise FetchError(source, exc.reason + tail, unreachable=exc.unreachable) from None
                delay = o.backoff * 2 ** attempt
            else:
                if ans.status not in RETRY_STATUSES or attempt >= o.retries:
                    ans.retried = attempt
                    return ans
                asked = _retry_after(ans.headers)
                if asked > o.max_wait:
                    raise FetchError(source, f"HTTP {ans.status}; the server asks to wait {asked:.0f} s "
                                             f"(more than {o.max_wait:.0f} s)")
                delay = max(o.backoff * 2 ** attempt, asked)
            self._sleep(min(delay, o.max_wait))
            attempt += 1

    def _pin(self, url: httpx.URL, source: str) -> tuple[httpx.URL, dict[str, str], dict[str, str]]:
        """Check the host's addresses; return the URL to connect to, extra headers and request extensions."""
        if self.options.allow_private:
            return url, {}, {}
        port = url.port or (443 if url.scheme == "https" else 80)
        try:
            addresses = self._resolver(url.host, port)
        except (OSError, UnicodeError) as exc:
            raise FetchError(source, f"cannot resolve host {url.host} ({_short(exc)})", unreachable=True
                             ) from None
        if not addresses:
            raise FetchError(source, f"cannot resolve host {url.host}", unreachable=True)
        for ip in addresses:
            if not is_public_address(ip):
                why = f"refusing {url.host}: it resolves to a private or local address ({ip})"
                raise FetchError(source, why)
        ext = {"sni_hostname": url.host} if url.scheme == "https" else {}
        return url.copy_with(host=addresses[0]), {"Host": url.netloc.decode("ascii")}, ext

    def _once(self, url: httpx.URL, source: str, max_bytes: int) -> _Answer:
        import httpx

        o = self.options
        target, headers, ext = self._pin(url, source)
        too_big = f"too large (more than {_mb(max_bytes)}, the size cap)"
        try:
            with self._client.stream("GET", target, headers=headers, extensions=ext) as r:
                if r.status_code >= 300:
                    return _Answer(r.status_code, r.reason_phrase, r.headers, b"")
                length = r.headers.get("content-length", "")
                if length.isdigit() and int(length) > max_bytes:
                    raise FetchError(source, f"{too_big}: Content-Length is {_mb(int(length))}")
                deadline = self._clock() + o.total_timeout
                buf = bytearray()
                for chunk in r.iter_bytes():
                    buf += chunk
                    if len(buf) > max_bytes:
                        raise FetchError(source, too_big)
                    if self._clock() > deadline:
                        raise FetchError(source, f"download took longer than {o.total_timeout:g} s")
                return _Answer(r.status_code, r.reason_phrase, r.headers, bytes(buf))
        except httpx.ConnectTimeout:
            raise FetchError(source, f"no connection to {url.host} within {o.connect_timeout:g} s "
                                     "(connect timeout)", unreachable=True) from None
        except httpx.TimeoutException:
            raise FetchError(source, f"no answer within {o.read_timeout:g} s (read timeout)") from None
        except httpx.ConnectError as exc:
            raise _Transient(f"cannot connect to {url.host} ({_short(exc)})", unreachable=True) from None
        except (httpx.RemoteProtocolError, httpx.ReadError) as exc:
            raise _Transient(f"connection to {url.host} broken ({_short(exc)})") from None
        except httpx.DecodingError as exc:
            raise FetchError(source, f"cannot decode the compressed answer ({_short(exc)})") from None
        except httpx.HTTPError as exc:
            raise FetchError(source, f"{type(exc).__name__}: {_short(exc)}") from None
