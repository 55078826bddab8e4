"""Who may use `propscope serve`: the token off loopback, URL fetching only with --allow-fetch, fetch rate,
and the model info the page reads (decision threshold)."""

from __future__ import annotations

import sys
import types
from types import SimpleNamespace

import pytest
from fastapi.testclient import TestClient
from server_fixtures import FakeDetector

from propscope.errors import InputError
from propscope.schema import Article
from propscope.server.access import RateLimiter, ServeOptions, is_loopback, token_from
from propscope.server.app import create_app


class ThresholdDetector(FakeDetector):
    """A FakeDetector whose decode settings look like the ONNX detector's."""

    core = SimpleNamespace(config=SimpleNamespace(min_confidence=0.3))


def _client(**options) -> TestClient:
    return TestClient(create_app(ThresholdDetector(), options=ServeOptions(**options)))


def test_model_info_gives_the_decision_threshold_and_what_is_allowed():
    with _client() as c:
        info = c.get("/api/v1/model").json()
    assert info["model"] == "fake-detector 0 (tests)" and info["decision_threshold"] == 0.3
    assert info["allow_fetch"] is False and info["token_required"] is False
    assert info["max_body_bytes"] == 2_000_000
    with TestClient(create_app(FakeDetector())) as c:  # a detector without decode settings
        assert c.get("/api/v1/model").json()["decision_threshold"] is None


def test_the_shipped_model_reports_its_threshold():
    from propscope.detect.base import DEFAULT_MODEL_DIR, load_detector
    from propscope.server.routes_page import decision_threshold

    if not (DEFAULT_MODEL_DIR / "config.json").is_file():
        pytest.skip("no model shipped in the package")
    import json

    want = json.loads((DEFAULT_MODEL_DIR / "config.json").read_text())["decode"]["min_confidence"]
    assert decision_threshold(load_detector()) == want


def test_fetch_is_refused_unless_the_server_allows_it():
    with _client() as c:
        r = c.post("/api/v1/fetch", json={"url": "https://example.org/story"})
    assert r.status_code == 403
    assert "--allow-fetch" in r.json()["detail"] and "paste" in r.json()["detail"]


@pytest.fixture
def fake_crawl(monkeypatch):
    """A stand-in for propscope.crawl (built by the crawl work): records calls, refuses private hosts."""
    calls: list[tuple[str, bool]] = []

    def fetch_article(url: str, allow_private: bool = False) -> Article:
        calls.append((url, allow_private))
        if "127.0.0.1" in url and not allow_private:
            raise InputError(url, "refused: 127.0.0.1 is a loopback address (use --allow-private)")
        if "down.example" in url:
            raise ConnectionError("connection refused")
        if "nohost.example" in url:  # as propscope.crawl's FetchError does
            err = InputError(url, "cannot resolve host nohost.example")
            err.unreachable = True  # type: ignore[attr-defined]
            raise err
        return Article(id="fetched", text="Terrorists strike\n\nThe terrorists will wisen up.", url=url)

    module = types.ModuleType("propscope.crawl")
    module.fetch_article = fetch_article  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "propscope.crawl", module)
    return calls


def test_fetch_calls_the_fetcher_and_analyses_the_page(fake_crawl):
    with _client(allow_fetch=True) as c:
        r = c.post("/api/v1/fetch", json={"url": "https://example.org/story"})
        assert r.status_code == 200, r.text
        data = r.json()
        assert data["article"]["url"] == "https://example.org/story"
        assert {s["technique"] for s in data["spans"]} == {"Name_Calling,Labeling", "Loaded_Language"}
        assert fake_crawl == [("https://example.org/story", False)]

        r = c.post("/api/v1/fetch", json={"url": "http://127.0.0.1:8000/admin"})
        assert r.status_code == 422 and "loopback" in r.json()["detail"]
        r = c.post("/api/v1/fetch", json={"url": "https://down.example/x"})
        assert r.status_code == 502 and "connection refused" in r.json()["detail"]
        r = c.post("/api/v1/fetch", json={"url": "https://nohost.example/x"})
        assert r.status_code == 502 and "cannot resolve host" in r.json()["detail"]
        for bad in ("file:///etc/passwd", "javascript:alert(1)", "example.org"):
            r = c.post("/api/v1/fetch", json={"url": bad})
            assert r.status_code == 422 and "not an http(s) address" in r.json()["detail"], bad
        assert c.get("/api/v1/model").json()["allow_fetch"] is True
    with _client(allow_fetch=True, allow_private=True) as c:
        assert c.post("/api/v1/fetch", json={"url": "http://127.0.0.1:8000/a"}).status_code == 200
        assert fake_crawl[-1] == ("http://127.0.0.1:8000/a", True)


def test_fetch_without_a_fetcher_says_so(monkeypatch):
    monkeypatch.setitem(sys.modules, "propscope.crawl", None)  # import fails
    with _client(allow_fetch=True) as c:
        r = c.post("/api/v1/fetch", json={"url": "https://example.org/story"})
    assert r.status_code == 501 and "no page fetcher" in r.json()["detail"]


def test_fetch_rate_is_limited_per_client(fake_crawl):
    with _client(allow_fetch=True, fetches_per_minute=3) as c:
        codes = [c.post("/api/v1/fetch", json={"url": "https://example.org/a"}).status_code for _ in range(5)]
        assert codes == [200, 200, 200, 429, 429]
        r = c.post("/api/v1/fetch", json={"url": "https://example.org/a"})
        assert "at most 3 a minute" in r.json()["detail"] and int(r.headers["retry-after"]) >= 1
    assert len(fake_crawl) == 3


def test_rate_limiter_window_slides():
    now = [0.0]
    limiter = RateLimiter(2, clock=lambda: now[0])
    assert limiter.check("a") == 0 and limiter.check("a") == 0
    assert limiter.check("a") == pytest.approx(60.0)
    assert limiter.check("b") == 0  # per client
    now[0] = 30.0
    assert limiter.check("a") == pytest.approx(30.0)
    now[0] = 60.0
    assert limiter.check("a") == 0


def test_token_guards_analysis_and_fetch_but_not_reading(fake_crawl):
    with _client(token="s3cret", allow_fetch=True) as c:
        for path, body in (("/api/v1/analyze", {"text": "The terrorists."}),
                           ("/api/v1/fetch", {"url": "https://example.org/a"})):
            r = c.post(path, json=body)
            assert r.status_code == 401 and "no token" in r.json()["detail"], path
            assert r.headers["www-authenticate"] == "Bearer"
            r = c.post(path, json=body, headers={"Authorization": "Bearer wrong"})
            assert r.status_code == 401 and "wrong token" in r.json()["detail"], path
            r = c.post(path, json=body, headers={"Authorization": "Bearer s3cret"})
            assert r.status_code == 200, (path, r.text)
        assert fake_crawl == [("https://example.org/a", False)]  # refused requests fetched nothing
        for path in ("/", "/api/v1/techniques", "/api/v1/model", "/healthz", "/docs", "/static/app.js"):
            assert c.get(path).status_code == 200, path
        assert c.get("/api/v1/model").json()["token_required"] is True


def test_loopback_and_token_helpers(monkeypatch):
    assert is_loopback("127.0.0.1") and is_loopback("127.1.2.3") and is_loopback("::1")
    assert is_loopback("localhost") and is_loopback("[::1]")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.5") and not is_loopback("example.org")
    monkeypatch.delenv("PROPSCOPE_TOKEN", raising=False)
    assert token_from(None) is None and token_from("  ") is None and token_from("abc") == "abc"
    monkeypatch.setenv("PROPSCOPE_TOKEN", "from-env")
    assert token_from(None) == "from-env" and token_from("given") == "given"


def test_serve_refuses_a_public_address_without_a_token(monkeypatch):
    import uvicorn
    from typer.testing import CliRunner

    import propscope.detect.base as base
    from propscope.cli import _register, app

    seen = {}
    monkeypatch.setattr(base, "load_detector", lambda model_dir=None: FakeDetector())
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: seen.update(kw, app=app))
    monkeypatch.delenv("PROPSCOPE_TOKEN", raising=False)
    _register()
    result = CliRunner().invoke(app, ["serve", "--host", "0.0.0.0"])
    assert result.exit_code == 2 and not seen
    assert "token is required" in result.output and "PROPSCOPE_TOKEN" in result.output

    monkeypatch.setenv("PROPSCOPE_TOKEN", "env-token")
    result = CliRunner().invoke(app, ["serve", "--host", "0.0.0.0", "--allow-fetch", "--allow-private"])
    assert result.exit_code == 0, result.output
    opts = seen["app"].state.options
    assert opts.token == "env-token" and opts.allow_fetch and opts.allow_private


def test_the_real_fetcher_refuses_loopback_unless_allowed():
    """With propscope.crawl present (the crawl work), the route wires the real fetcher: a page on this
    machine is refused by default and fetched with --allow-private."""
    pytest.importorskip("propscope.crawl", reason="propscope.crawl (the fetcher) is not in this checkout")
    from server_fixtures import SAMPLE, running_server

    page = "".join(f"<p>{p}</p>" for p in SAMPLE.read_text(encoding="utf-8").split("\n\n")[1:] if p.strip())
    site = FastAPIPage(f"<html><head><title>Idlib</title></head><body><article><h1>Idlib</h1>{page}"
                       "</article></body></html>")
    with running_server(site.app) as origin:
        with _client(allow_fetch=True) as c:
            r = c.post("/api/v1/fetch", json={"url": origin + "/story"})
            assert r.status_code == 422, r.text
            assert "127.0.0.1" in r.json()["detail"] or "loopback" in r.json()["detail"].lower()
        with _client(allow_fetch=True, allow_private=True) as c:
            r = c.post("/api/v1/fetch", json={"url": origin + "/story"})
            assert r.status_code == 200, r.text
            assert "civilians reside in Idlib" in r.json()["article"]["text"]
            assert r.json()["spans"]


class FastAPIPage:
    """A one-page web site (robots.txt allows everything) to fetch from in tests."""

    def __init__(self, html: str) -> None:
        from fastapi import FastAPI
        from fastapi.responses import HTMLResponse, PlainTextResponse

        self.app = FastAPI()
        self.app.get("/robots.txt")(lambda: PlainTextResponse("User-agent: *\nAllow: /\n"))
        self.app.get("/story")(lambda: HTMLResponse(html))
