"""End-to-end: the web page in headless Chromium (Debian's /usr/bin/chromium, driven by Playwright).

Skipped when Chromium or Playwright is missing, except in CI (CI set), where that is a failure: `make test`
installs them (see the Makefile's browser-deps target).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import httpx
import pytest
from server_fixtures import REPO, SAMPLE, FakeDetector, expected_counts, running_server

from propscope.server.app import create_app

CHROMIUM = os.environ.get("PROPSCOPE_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]
SCREENSHOTS = REPO / "out" / "screenshots"


def _unavailable() -> str | None:
    if not Path(CHROMIUM).exists():
        return f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "python playwright is not installed (pip install -e '.[dev]')"
    return None


_why = _unavailable()
if _why and os.environ.get("CI"):
    raise RuntimeError(f"browser tests cannot run in CI: {_why}")
pytestmark = pytest.mark.skipif(_why is not None, reason=_why or "")


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def base_url():
    with running_server(create_app(FakeDetector())) as url:
        yield url


@pytest.fixture
def page(browser, base_url):
    context = browser.new_context(viewport={"width": 1280, "height": 1000}, accept_downloads=True)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    pg.goto(base_url + "/")
    pg.wait_for_selector("body[data-ready='1']")
    pg.js_errors = errors  # type: ignore[attr-defined]
    yield pg
    context.close()


def _save(pg, tmp_path: Path, name: str) -> Path:
    shot = tmp_path / name
    pg.screenshot(path=str(shot), full_page=True)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(shot, SCREENSHOTS / name)
    return shot


def test_sample_article_is_highlighted(page, base_url, tmp_path):
    text = SAMPLE.read_text(encoding="utf-8")
    page.fill("#article-text", text)
    page.click("#analyze-button")
    page.wait_for_selector("#article-view mark.ps-span")

    # the article is shown in full, with highlighted spans of the right techniques
    shown = page.inner_text("#article-view")
    assert "Putin hopes terrorists in Idlib" in shown and "civilians reside in Idlib" in shown
    marks = page.locator("#article-view mark.ps-span")
    assert marks.count() >= 5
    assert page.locator("mark.ps-t-Name_Calling_Labeling").count() >= 5
    assert page.locator("mark.ps-t-Loaded_Language").count() >= 2
    assert page.locator("mark.ps-overlap").count() >= 1  # "terrorists" inside the fear-appeal span
    bg = page.eval_on_selector("mark.ps-t-Loaded_Language", "m => getComputedStyle(m).backgroundColor")
    assert bg not in ("", "rgba(0, 0, 0, 0)", "transparent")

    # legend counts equal the analysis
    want = expected_counts(text)
    for name, n in want.items():
        count = page.locator(f"#legend li[data-technique='{name}'] .ps-count").inner_text()
        assert int(count) == n, name
    assert page.locator("#legend li").count() == 14
    assert page.locator("#chart svg rect").count() == len(want)

    # hovering a span shows technique, definition and confidence
    page.hover("mark.ps-t-Loaded_Language >> nth=0")
    tip = page.locator("#tooltip")
    tip.wait_for(state="visible")
    tip_text = tip.inner_text()
    assert "Loaded language" in tip_text
    assert "strong emotional charge" in tip_text
    assert "confidence 74%" in tip_text

    # an overlapping fragment lists every covering technique
    page.hover("mark.ps-overlap >> nth=0")
    tip_text = page.locator("#tooltip").inner_text()
    assert "Name calling / labeling" in tip_text and "Appeal to fear / prejudice" in tip_text
    assert "confidence 91%" in tip_text and "confidence 66%" in tip_text

    shot = _save(page, tmp_path, "browser-sample.png")
    assert shot.stat().st_size > 10_000

    # download JSON: the analysis itself
    with page.expect_download() as dl:
        page.click("#download-json")
    assert dl.value.suggested_filename.endswith(".analysis.json")
    data = json.loads(Path(dl.value.path()).read_text(encoding="utf-8"))
    assert data == httpx.post(base_url + "/api/v1/analyze", json={"text": text}).json()
    assert sum(data["counts"].values()) == sum(want.values())

    # the legend hides and shows a technique
    page.click("#legend li[data-technique='Loaded_Language']")
    assert page.locator("mark.ps-t-Loaded_Language").count() == 0
    page.click("#legend li[data-technique='Loaded_Language']")
    assert page.locator("mark.ps-t-Loaded_Language").count() >= 2
    assert page.js_errors == []


def test_article_text_is_escaped_and_nothing_runs(page, tmp_path):
    evil = ("Breaking: terrorists strike <script>window.__xss=1</script> again\n\n"
            "The terrorists <img src=x onerror=\"window.__xss=2\"> will wisen up "
            "<b onmouseover=\"window.__xss=3\">bold</b> <iframe src=\"javascript:window.__xss=4\"></iframe>")
    page.fill("#article-text", evil)
    page.fill("#article-title", "<svg onload=\"window.__xss=5\">")
    page.click("#analyze-button")
    page.wait_for_selector("#article-view mark.ps-span")
    page.hover("mark.ps-t-Name_Calling_Labeling >> nth=0")
    page.hover("#article-view")
    page.wait_for_timeout(300)
    assert page.evaluate("typeof window.__xss") == "undefined"
    # no element was made from the article text: it is all literal text
    for tag in ("script", "img", "iframe", "b", "svg"):
        assert page.locator(f"#article-view {tag}").count() == 0, tag
    shown = page.inner_text("#article-view")
    assert "<script>window.__xss=1</script>" in shown
    assert '<img src=x onerror="window.__xss=2">' in shown
    assert '<svg onload="window.__xss=5">' in shown
    _save(page, tmp_path, "browser-xss.png")


def test_html_file_upload_and_error_messages(page, tmp_path):
    paras = "".join(f"<p>{p}</p>" for p in SAMPLE.read_text(encoding="utf-8").split("\n\n")[1:] if p.strip())
    html = tmp_path / "idlib.html"
    html.write_text(f"<html><head><title>Putin hopes terrorists in Idlib will wisen up</title></head>"
                    f"<body><article><h1>Putin hopes terrorists in Idlib will wisen up</h1>{paras}</article>"
                    f"</body></html>", encoding="utf-8")
    page.set_input_files("#article-file", str(html))
    page.wait_for_selector("#article-view mark.ps-span")
    assert "civilians reside in Idlib" in page.inner_text("#article-view")
    assert "<p>" not in page.inner_text("#article-view")

    # an API error is shown in the page
    page.set_input_files("#article-file", {"name": "empty.html", "mimeType": "text/html",
                                           "buffer": b"<html><body></body></html>"})
    err = page.locator("#error")
    err.wait_for(state="visible")
    assert "HTTP 422" in err.inner_text()

    # too large: 413 with the server's message
    page.fill("#article-text", "terrorists " * 200_000)
    page.click("#analyze-button")
    page.wait_for_function("document.getElementById('error').textContent.includes('413')")
    assert "larger than the 2000000-byte limit" in err.inner_text()


def test_offline_api_reference(page, base_url):
    page.goto(base_url + "/docs")
    page.wait_for_selector(".ps-api-op")
    text = page.inner_text("#api-doc")
    assert "/api/v1/analyze" in text and "/api/v1/techniques" in text and "/healthz" in text
    assert "413" in text and "html" in text
    assert page.js_errors == []


def test_sample_article_with_the_shipped_model(browser, tmp_path):
    from propscope.detect.base import DEFAULT_MODEL_DIR

    if not (DEFAULT_MODEL_DIR / "config.json").is_file():
        pytest.skip("no model shipped in the package")
    text = SAMPLE.read_text(encoding="utf-8")
    with running_server(create_app()) as url:
        expected = httpx.post(url + "/api/v1/analyze", json={"text": text}, timeout=60).json()
        context = browser.new_context(viewport={"width": 1280, "height": 1000})
        pg = context.new_page()
        pg.goto(url + "/")
        pg.wait_for_selector("body[data-ready='1']")
        pg.fill("#article-text", text)
        pg.click("#analyze-button")
        pg.wait_for_selector("#article-view mark.ps-span")
        assert expected["spans"] and expected["model"].startswith("propscope-")
        for name, n in expected["counts"].items():
            count = pg.locator(f"#legend li[data-technique='{name}'] .ps-count").inner_text()
            assert int(count) == n, name
        shown = {pg.locator("#article-view mark.ps-span").nth(i).inner_text()
                 for i in range(pg.locator("#article-view mark.ps-span").count())}
        assert any(s["text"].startswith(m) or m in s["text"] for s in expected["spans"] for m in shown)
        shot = _save(pg, tmp_path, "browser-sample-model.png")
        assert shot.stat().st_size > 10_000
        context.close()
