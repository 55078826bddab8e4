"""REST API of `propscope serve`: FastAPI TestClient and a real uvicorn server on loopback, fake detector."""

from __future__ import annotations

import json
import re
import threading
import time

import httpx
import pytest
from fastapi.testclient import TestClient
from server_fixtures import SAMPLE, FakeDetector, expected_counts, running_server

from propscope.errors import ModelNotInstalledError
from propscope.schema import Analysis
from propscope.server import app as server_app
from propscope.server.app import create_app
from propscope.techniques import TECHNIQUES

SAMPLE_TEXT = SAMPLE.read_text(encoding="utf-8")
LIMIT_MSG = "request body is larger than the {}-byte limit"


@pytest.fixture
def client():
    with TestClient(create_app(FakeDetector())) as c:
        yield c


def test_analyze_text_returns_the_cli_analysis_json(client):
    from propscope.pipeline import to_analysis
    from propscope.read import article_from_text

    r = client.post("/api/v1/analyze", json={"text": SAMPLE_TEXT, "id": "idlib"})
    assert r.status_code == 200, r.text
    data = r.json()
    Analysis.model_validate(data)  # it is an Analysis...
    det = FakeDetector()
    article = article_from_text(SAMPLE_TEXT, id="idlib", source="api")
    expected = to_analysis(article, det.detect([article.text])[0], det.name).model_dump(mode="json")
    assert data == expected  # ...and exactly the JSON the CLI writes for the same article
    assert data["model"] == "fake-detector 0 (tests)"
    assert data["spans"], "the sample must have spans"
    for s in data["spans"]:
        assert data["article"]["text"][s["start"]:s["end"]] == s["text"]
    want = expected_counts(data["article"]["text"])
    assert {k: v for k, v in data["counts"].items() if v} == want
    assert set(data["counts"]) == set(TECHNIQUES)


def test_analyze_passes_title_and_url_and_makes_an_id(client):
    r = client.post("/api/v1/analyze", json={"text": "The terrorists will wisen up, he said.",
                                             "title": "Truce", "url": "https://example.org/a"})
    assert r.status_code == 200, r.text
    art = r.json()["article"]
    assert art["title"] == "Truce" and art["url"] == "https://example.org/a"
    assert art["id"].startswith("api-")
    techs = {s["technique"] for s in r.json()["spans"]}
    assert techs == {"Name_Calling,Labeling", "Loaded_Language"}


def test_analyze_html(client):
    paras = "".join(f"<p>{line}</p>" for line in SAMPLE_TEXT.split("\n\n")[1:] if line.strip())
    html = (f"<html><head><title>Putin hopes terrorists in Idlib will wisen up</title></head><body>"
            f"<nav><a href='/'>Home</a></nav><article><h1>Putin hopes terrorists in Idlib will wisen up</h1>"
            f"{paras}</article><footer>Share on Facebook</footer></body></html>")
    r = client.post("/api/v1/analyze", json={"html": html, "url": "https://example.org/idlib"})
    assert r.status_code == 200, r.text
    data = r.json()
    assert "civilians reside in Idlib" in data["article"]["text"]
    assert data["article"]["url"] == "https://example.org/idlib"
    assert data["counts"]["Name_Calling,Labeling"] >= 3


@pytest.mark.parametrize("body, needle", [
    ({}, "neither"),
    ({"title": "only a title"}, "neither"),
    ({"text": "a", "html": "<p>a</p>"}, "not both"),
    ({"text": 5}, "text"),
    ({"text": "x", "colour": "red"}, "unknown field 'colour'"),
    ([1, 2], "JSON object"),
])
def test_analyze_rejects_bad_requests_with_a_clear_message(client, body, needle):
    r = client.post("/api/v1/analyze", json=body)
    assert r.status_code == 422
    detail = r.json()["detail"]
    assert isinstance(detail, str) and needle in detail, detail


def test_malformed_json_gets_422_with_a_clear_message(client):
    r = client.post("/api/v1/analyze", content=b'{"text": "unfinished',
                    headers={"content-type": "application/json"})
    assert r.status_code == 422
    assert r.json()["detail"].startswith("the request body is not valid JSON"), r.json()


@pytest.mark.parametrize("body, needle", [
    ({"text": "   \n  "}, "'text' is empty"),
    ({"html": ""}, "'html' is empty"),
    ({"html": "<html><body><script>var a = 1;</script></body></html>"}, "no article"),
])
def test_unusable_article_gets_422(client, body, needle):
    r = client.post("/api/v1/analyze", json=body)
    assert r.status_code == 422
    assert needle in r.json()["detail"], r.json()


def test_body_over_the_limit_gets_413_by_content_length_and_by_stream():
    limit = 1000
    with TestClient(create_app(FakeDetector(), max_body_bytes=limit)) as c:
        big = json.dumps({"text": "x" * 2000}).encode()
        r = c.post("/api/v1/analyze", content=big, headers={"content-type": "application/json"})
        assert r.status_code == 413
        assert r.json() == {"detail": LIMIT_MSG.format(limit)}

        def chunks():  # no Content-Length: chunked transfer encoding
            for _ in range(30):
                yield b"x" * 100

        r = c.post("/api/v1/analyze", content=chunks(), headers={"content-type": "application/json"})
        assert r.status_code == 413
        assert r.json() == {"detail": LIMIT_MSG.format(limit)}

        small = json.dumps({"text": "The terrorists."}).encode()

        def small_chunks():
            yield small[:5]
            yield small[5:]

        r = c.post("/api/v1/analyze", content=small_chunks(), headers={"content-type": "application/json"})
        assert r.status_code == 200, r.text
        assert r.json()["counts"]["Name_Calling,Labeling"] == 1


def test_five_megabyte_body_gets_413_by_default(client):
    body = json.dumps({"text": "propaganda " * 460_000}).encode()
    assert len(body) > 5_000_000
    r = client.post("/api/v1/analyze", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 413
    assert r.json() == {"detail": LIMIT_MSG.format(2_000_000)}


class BrokenDetector(FakeDetector):
    def detect(self, texts):
        raise RuntimeError("model exploded")


def test_detector_failure_gives_a_json_500():
    with TestClient(create_app(BrokenDetector()), raise_server_exceptions=False) as c:
        r = c.post("/api/v1/analyze", json={"text": "terrorists"})
        assert r.status_code == 500
        assert r.json() == {"detail": "internal error: RuntimeError: model exploded"}
        assert c.get("/healthz").status_code == 200


def test_techniques_endpoint(client):
    r = client.get("/api/v1/techniques")
    assert r.status_code == 200
    data = r.json()
    assert [t["name"] for t in data] == list(TECHNIQUES)
    for t in data:
        assert set(t) == {"name", "label", "definition", "colour", "short"}
        assert t["colour"].startswith("#") and len(t["colour"]) == 7 and t["definition"]


def test_healthz_and_openapi(client):
    h = client.get("/healthz").json()
    assert h["status"] == "ok" and h["model"] == "fake-detector 0 (tests)"
    assert h["max_body_bytes"] == 2_000_000
    spec = client.get("/openapi.json").json()
    assert {"/api/v1/analyze", "/api/v1/techniques", "/healthz"} <= set(spec["paths"])
    assert "413" in spec["paths"]["/api/v1/analyze"]["post"]["responses"]
    docs = client.get("/docs")
    assert docs.status_code == 200 and '<script src="/static/api.js"' in docs.text  # offline reference
    assert client.get("/static/api.js").status_code == 200
    swagger = client.get("/docs/swagger", follow_redirects=False)  # it needed a CDN: now the offline page
    assert swagger.status_code == 308 and swagger.headers["location"] == "/docs"
    assert client.get("/redoc").status_code == 404
    assert "default-src 'self'" in docs.headers["content-security-policy"]


def test_page_and_static_files_are_served_without_any_external_resource(client):
    r = client.get("/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in r.headers["content-security-policy"]
    assert r.headers["x-content-type-options"] == "nosniff"
    page = r.text
    assert '<script src="/static/app.js"' in page and 'href="/static/style.css"' in page
    for path in ("/static/app.js", "/static/chart.js", "/static/style.css", "/static/api.js"):
        s = client.get(path)
        assert s.status_code == 200, path
        # no address of another site (the SVG namespace is a name, not a download)
        hosts = re.findall(r"https?://([a-z0-9-]+(?:\.[a-z0-9-]+)+)", s.text, flags=re.IGNORECASE)
        assert set(hosts) <= {"www.w3.org"}, (path, hosts)
        assert "innerHTML" not in s.text and "insertAdjacentHTML" not in s.text
    assert not re.findall(r"https?://[a-z0-9-]+\.", page, flags=re.IGNORECASE)  # no other site


def test_detector_is_loaded_once_at_start_up(monkeypatch):
    calls = []

    def fake_load(model_dir=None):
        calls.append(model_dir)
        return FakeDetector()

    monkeypatch.setattr(server_app, "load_detector", fake_load)
    with TestClient(create_app(model_dir="/some/model")) as c:
        assert calls == ["/some/model"]  # at start-up, before any request
        for _ in range(3):
            assert c.post("/api/v1/analyze", json={"text": "terrorists"}).status_code == 200
        assert c.get("/healthz").json()["model"] == "fake-detector 0 (tests)"
    assert calls == ["/some/model"]


def test_no_model_installed_fails_at_start_up(tmp_path):
    with pytest.raises(ModelNotInstalledError, match="no propscope model is installed"):
        with TestClient(create_app(model_dir=tmp_path)):
            pass


def test_serve_command_fails_clearly_without_a_model(tmp_path):
    from typer.testing import CliRunner

    from propscope.cli import _register, app

    _register()
    result = CliRunner().invoke(app, ["serve", "--model", str(tmp_path)])
    assert result.exit_code == 1
    assert "no propscope model is installed" in result.output


def test_serve_command_binds_loopback_by_default(monkeypatch):
    import uvicorn
    from typer.testing import CliRunner

    import propscope.detect.base as base
    from propscope.cli import _register, app

    seen = {}
    monkeypatch.setattr(base, "load_detector", lambda model_dir=None: FakeDetector())
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: seen.update(kw, app=app))
    _register()
    result = CliRunner().invoke(app, ["serve"])
    assert result.exit_code == 0, result.output
    assert seen["host"] == "127.0.0.1" and seen["port"] == 8000
    assert seen["app"].state.detector.name == "fake-detector 0 (tests)"

    assert seen["app"].state.options.token is None and not seen["app"].state.options.allow_fetch

    result = CliRunner().invoke(app, ["serve", "--host", "0.0.0.0", "--port", "9001", "--token", "s3cret"])
    assert result.exit_code == 0 and seen["host"] == "0.0.0.0" and seen["port"] == 9001
    assert seen["app"].state.options.token == "s3cret"


# --- a real server on loopback --------------------------------------------------------------------------


class SlowDetector(FakeDetector):
    def detect(self, texts):
        time.sleep(2.0)
        return super().detect(texts)


def test_real_server_sample_413_and_chunked_413():
    with running_server(create_app(FakeDetector())) as base, httpx.Client(base_url=base, timeout=30) as c:
        r = c.post("/api/v1/analyze", json={"text": SAMPLE_TEXT})
        assert r.status_code == 200 and r.json()["spans"]

        five_mb = b'{"text": "' + b"a" * 5_000_000 + b'"}'
        r = c.post("/api/v1/analyze", content=five_mb, headers={"content-type": "application/json"})
        assert r.status_code == 413
        assert r.json() == {"detail": LIMIT_MSG.format(2_000_000)}

        def stream():
            for _ in range(30):
                yield b"a" * 100_000

        r = c.post("/api/v1/analyze", content=stream(), headers={"content-type": "application/json"})
        assert r.status_code == 413 and "limit" in r.json()["detail"]
        # the server still works afterwards
        assert c.get("/healthz").status_code == 200


def test_analysis_runs_off_the_event_loop():
    """While a slow analysis runs, other requests are still answered at once."""
    with running_server(create_app(SlowDetector())) as base:
        result = {}

        def slow():
            with httpx.Client(base_url=base, timeout=30) as c:
                result["r"] = c.post("/api/v1/analyze", json={"text": "terrorists"})

        t = threading.Thread(target=slow)
        t.start()
        time.sleep(0.3)
        with httpx.Client(base_url=base, timeout=30) as c:
            t0 = time.monotonic()
            assert c.get("/healthz").status_code == 200
            assert c.get("/").status_code == 200
            assert time.monotonic() - t0 < 1.0
            assert t.is_alive()  # the analysis is still running
        t.join(timeout=30)
        assert result["r"].status_code == 200


class CountingDetector(FakeDetector):
    def __init__(self) -> None:
        super().__init__()
        self.active = 0
        self.peak = 0
        self._mutex = threading.Lock()

    def detect(self, texts):
        with self._mutex:
            self.active += 1
            self.peak = max(self.peak, self.active)
        time.sleep(0.3)
        with self._mutex:
            self.active -= 1
        return super().detect(texts)


def test_concurrent_analyses_are_bounded():
    det = CountingDetector()
    with running_server(create_app(det, concurrent_analyses=2)) as base:
        codes = []

        def one():
            r = httpx.post(base + "/api/v1/analyze", json={"text": "terrorists"}, timeout=30)
            codes.append(r.status_code)

        threads = [threading.Thread(target=one) for _ in range(5)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
    assert codes == [200] * 5
    assert det.peak == 2


def test_clean_false_keeps_the_text_exactly_as_sent(client):
    r = client.post("/api/v1/analyze", json={"text": SAMPLE_TEXT, "clean": False})
    assert r.status_code == 200, r.text
    article = r.json()["article"]
    assert article["text"] == SAMPLE_TEXT and "You might also like" in article["text"]
    assert not article["cleaning"]["removed"]
    cleaned = client.post("/api/v1/analyze", json={"text": SAMPLE_TEXT}).json()["article"]  # clean by default
    assert "You might also like" not in cleaned["text"] and cleaned["cleaning"]["removed"]
    spans = r.json()["spans"]
    assert spans and all(SAMPLE_TEXT[s["start"]:s["end"]] == s["text"] for s in spans)  # raw offsets


def test_clean_false_applies_to_html_too(client):
    body = ("<p>The terrorists in Idlib must wisen up and lay down their arms, the minister said on Friday "
            "in a long statement to reporters.</p><p>Subscribe to our newsletter</p><p>Talks will go on "
            "next week in Tehran, where the leaders of three countries meet to discuss the truce.</p>")
    html = f"<html><head><title>Truce talks</title></head><body><article>{body}</article></body></html>"
    kept = client.post("/api/v1/analyze", json={"html": html, "clean": False}).json()["article"]
    cleaned = client.post("/api/v1/analyze", json={"html": html}).json()["article"]
    assert "Subscribe to our newsletter" in kept["text"] and not kept["cleaning"]["removed"]
    assert "Subscribe to our newsletter" not in cleaned["text"]
    assert [x["reason"] for x in cleaned["cleaning"]["removed"]] == ["subscribe prompt"]
