"""Who may use a `propscope serve` server: the options it was started with, the access token, the fetch rate.

Bound to loopback the server is open to this machine. Bound to any other address it needs a token
(``--token`` or ``$PROPSCOPE_TOKEN``): requests that analyse, fetch or write then send
``Authorization: Bearer TOKEN``. Reading the page, the technique table and the model info stays open.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import threading
import time
from collections import deque
from dataclasses import dataclass

from fastapi import HTTPException, Request

TOKEN_ENV = "PROPSCOPE_TOKEN"
"""Environment variable holding the access token when ``--token`` is not given."""


@dataclass(frozen=True)
class ServeOptions:
    """What a server allows. ``token`` None: no token asked (loopback only; the CLI enforces that)."""

    token: str | None = None
    allow_fetch: bool = False  # POST /api/v1/fetch: the server downloads a page for the client
    allow_private: bool = False  # fetches of private, loopback and link-local addresses
    fetches_per_minute: int = 10  # per client address


def is_loopback(host: str) -> bool:
    """True for addresses that only this machine can reach (127.0.0.0/8, ::1, localhost)."""
    if host.strip("[]").lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def token_from(option: str | None) -> str | None:
    """The token given on the command line, else $PROPSCOPE_TOKEN, else None (empty strings count as none)."""
    value = option if option is not None else os.environ.get(TOKEN_ENV)
    return value.strip() or None if value else None


def require_token(request: Request) -> None:
    """FastAPI dependency: 401 unless the request carries the server's token (when it has one)."""
    options: ServeOptions = request.app.state.options
    if options.token is None:
        return
    header = request.headers.get("authorization", "")
    scheme, _, given = header.partition(" ")
    if scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), options.token.encode()):
        return
    what = "a wrong token" if header else "no token"
    raise HTTPException(
        status_code=401,
        detail=f"this server needs its access token (the request had {what}): send the header "
               "'Authorization: Bearer TOKEN', with the token given to `propscope serve --token` "
               f"or ${TOKEN_ENV}",
        headers={"WWW-Authenticate": "Bearer"},
    )


class RateLimiter:
    """At most ``per_minute`` events per key in any 60-second window (a sliding log per key)."""

    def __init__(self, per_minute: int, clock=time.monotonic) -> None:
        self.per_minute = per_minute
        self.clock = clock
        self._log: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def check(self, key: str) -> float:
        """Record one event for ``key``; returns 0 when allowed, else the seconds to wait."""
        now = self.clock()
        with self._lock:
            log = self._log.setdefault(key, deque())
            while log and now - log[0] >= 60.0:
                log.popleft()
            if len(log) >= self.per_minute:
                return max(0.1, 60.0 - (now - log[0]))
            log.append(now)
            if len(self._log) > 10_000:  # forget idle clients
                for k in [k for k, v in self._log.items() if not v or now - v[-1] >= 60.0]:
                    del self._log[k]
            return 0.0
