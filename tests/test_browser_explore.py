"""End-to-end: the Explore view in headless Chromium, on small stores built with `propscope ingest`.

Skipped like tests/test_browser.py when Chromium or Playwright is missing (a failure under CI).
Screenshots of each view go to out/screenshots/explore-*.png.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from explore_fixtures import PLAIN, XSS, build_store, build_traced_store, corpus_rows, reuse_rows, xss_rows
from server_fixtures import FakeDetector, running_server
from test_browser import _open as _open_page
from test_browser import _save, axe_violations, browser, pytestmark  # noqa: F401  (fixture and skip mark)

from propscope import Corpus
from propscope.server.app import create_app
from propscope.techniques import BY_NAME


def _server(folder, rows):
    corpus = Corpus(build_store(folder, rows), create=False)
    return corpus, running_server(create_app(FakeDetector(), corpus=corpus))


@pytest.fixture(scope="module")
def corpus_url(tmp_path_factory):
    corpus, server = _server(tmp_path_factory.mktemp("explore"), corpus_rows())
    with server as url:
        yield url
    corpus.close()


@pytest.fixture(scope="module")
def xss_url(tmp_path_factory):
    corpus, server = _server(tmp_path_factory.mktemp("xss"), corpus_rows() + xss_rows())
    with server as url:
        yield url
    corpus.close()


def _open(browser, url, viewport=(1280, 1000)):  # noqa: F811
    """The analyser page's opener (page errors collected), then waiting for the Explore view to settle."""
    context, pg = _open_page(browser, url, viewport)
    pg.wait_for_selector("body[data-explore='ready'], body[data-explore='off']", state="attached")
    return context, pg


def expect(locator):
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


def _injected(pg) -> dict:
    """What a payload put into the page as HTML would have left: window.__xss, elements in <main>."""
    return pg.evaluate("""() => ({
        xss: window.__xss === undefined ? null : window.__xss,
        img: document.querySelectorAll('main img, main b, main script').length,
    })""")


def _settle(pg):
    pg.wait_for_selector("body[data-explore='ready']", state="attached")


def _summary(pg) -> str:
    return pg.inner_text("#ex-summary")


def _list(pg, table: str = "#ex-list") -> list[list[str]]:
    return pg.evaluate(f"[...document.querySelectorAll('{table} tbody tr')].map(r => "
                       "[...r.children].map(c => c.textContent))")


def _outlet_bars(pg) -> list[str]:
    return pg.evaluate("[...document.querySelectorAll('#ex-outlet-chart text.ps-chart-label')]"
                       ".map(t => t.textContent)")


def _time_fills(pg) -> set[str]:
    return set(pg.evaluate("[...document.querySelectorAll('#ex-time rect')]"
                           ".map(r => r.getAttribute('fill'))"))


def _labels_fit(pg, box: str) -> None:
    """Every text of the chart lies inside its drawing: no label is cut."""
    cut = pg.evaluate(f"""() => [...document.querySelectorAll('{box} svg')].flatMap(svg => {{
        const s = svg.getBoundingClientRect();
        return [...svg.querySelectorAll('text')].filter(t => {{
            const b = t.getBoundingClientRect();
            return b.left < s.left - 0.5 || b.top < s.top - 0.5 || b.right > s.right + 0.5
                || b.bottom > s.bottom + 0.5;
        }}).map(t => t.textContent);
    }})""")
    assert cut == []


def test_filters_change_the_charts_and_the_list(browser, corpus_url, tmp_path):  # noqa: F811
    context, pg = _open(browser, corpus_url + "/?view=explore")
    _settle(pg)
    assert "12 of 12 articles" in _summary(pg)
    assert len(_list(pg)) == 12
    assert {b.split(" (")[0] for b in _outlet_bars(pg)} == {"Left Wire", "Right Daily", "Centre Post"}
    found = ("Loaded_Language", "Name_Calling,Labeling", "Appeal_to_fear-prejudice")
    colours = {BY_NAME[t].colour for t in found}
    assert _time_fills(pg) == colours  # the palette's colour per technique
    periods = pg.evaluate("[...document.querySelectorAll('#ex-time tbody th')].map(t => t.textContent)")
    assert periods[0] == "2019-01" and periods[-1] == "2020-01" and len(periods) == 13  # empty months too
    for box in ("#ex-time", "#ex-outlet-chart", "#ex-pair"):
        _labels_fit(pg, box)
    _save(pg, tmp_path, "explore-dashboard.png")
    assert axe_violations(pg) == []

    pg.check("#ex-orientations input[value='right']")
    _settle(pg)
    assert "4 of 12 articles" in _summary(pg)
    assert {r[3] for r in _list(pg)} == {"Right Daily"}
    assert [b.split(" (")[0] for b in _outlet_bars(pg)] == ["Right Daily"]
    assert parse_qs(urlsplit(pg.url).query)["orientation"] == ["right"]
    pair = pg.inner_text("#ex-pair figcaption")  # its two outlets are its own choice: not filtered out
    assert "Centre Post (solid) and Left Wire" in pair and "no span of" not in pair

    pg.check("#ex-orientations input[value='left']")
    pg.fill("#ex-from", "2020-01-01")
    pg.press("#ex-from", "Enter")
    _settle(pg)
    assert "2 of 12 articles" in _summary(pg)  # Left Wire and Right Daily in 2020
    pg.click("#ex-reset")
    _settle(pg)
    pg.check("#ex-techniques input[value='Appeal_to_fear-prejudice']")
    _settle(pg)
    assert "6 of 12 articles" in _summary(pg)  # only articles with a selected span
    assert _time_fills(pg) == {BY_NAME["Appeal_to_fear-prejudice"].colour}

    pg.select_option("#ex-metric", "mean_score")
    _settle(pg)
    assert "Mean article score per outlet" in pg.inner_text("#ex-outlet-chart figcaption")
    pg.click("#ex-outlet-chart figcaption button")
    assert pg.is_visible("#ex-outlet-chart table") and not pg.is_visible("#ex-outlet-chart svg")
    assert pg.js_errors == []
    context.close()


def test_a_copied_url_reproduces_the_view_and_back_works(browser, corpus_url, tmp_path):  # noqa: F811
    context, pg = _open(browser, corpus_url + "/?view=explore")
    _settle(pg)
    pg.select_option("#ex-outlets", ["Left Wire", "Centre Post"])
    _settle(pg)
    pg.click("#ex-list button[data-sort='-score']")
    _settle(pg)
    pg.select_option("#ex-period", "year")
    _settle(pg)
    url, rows, bars = pg.url, _list(pg), _outlet_bars(pg)
    assert "8 of 12" in _summary(pg)
    scores = [float(r[1]) for r in rows]
    assert scores == sorted(scores, reverse=True)
    time_labels = pg.inner_text("#ex-time figcaption")
    assert "per technique and year" in time_labels

    other, pg2 = _open(browser, url)  # a fresh tab with the copied link
    _settle(pg2)
    assert _list(pg2) == rows and _outlet_bars(pg2) == bars and _summary(pg2) == _summary(pg)
    assert pg2.evaluate("[...document.querySelector('#ex-outlets').selectedOptions].map(o => o.value)") == [
        "Centre Post", "Left Wire"]
    assert pg2.input_value("#ex-period") == "year"
    assert pg2.get_attribute("#ex-list th[aria-sort]", "aria-sort") == "descending"
    other.close()

    pg.go_back()  # period back to month
    expect(pg.locator("#ex-period")).to_have_value("month")
    _settle(pg)
    pg.go_back()  # sort back to date
    expect(pg.locator("#ex-list th[aria-sort]")).to_have_text(re.compile("Date"))
    _settle(pg)
    dates = [r[2] for r in _list(pg)]
    assert dates == sorted(dates, reverse=True)
    pg.click("#view-links a[data-view='analyse']")
    assert pg.is_visible("#analyze-form") and not pg.is_visible("#view-explore")
    pg.go_back()
    expect(pg.locator("#ex-dashboard")).to_be_visible()
    assert pg.js_errors == []
    context.close()


def test_article_view_highlights_spans_with_scores_and_metadata(browser, corpus_url, tmp_path):  # noqa: F811
    context, pg = _open(browser, corpus_url + "/?view=explore&outlet=Right%20Daily&sort=-score")
    _settle(pg)
    title = _list(pg)[0][0]
    pg.click("#ex-list a.ps-ex-open >> nth=0")
    _settle(pg)
    assert "article=" in pg.url and pg.is_visible("#ex-article") and not pg.is_visible("#ex-dashboard")
    assert pg.inner_text("#ex-art-title") == title
    meta = pg.inner_text("#ex-art-meta")
    assert "Right Daily (right)" in meta and "2019" in meta or "2020" in meta
    link = pg.get_attribute("#ex-art-meta a", "href")
    assert link.startswith("https://rightdaily.example/story/")
    marks = pg.evaluate("[...document.querySelectorAll('#article-view mark.ps-span')].map(m => "
                        "[m.dataset.technique, m.textContent])")
    assert ["Loaded_Language", "wisen up"] in marks
    assert any(t == "Name_Calling,Labeling" and w.lower().startswith("terrorist") for t, w in marks)
    assert pg.evaluate("document.querySelectorAll('#sentences li .ps-sent-score').length") >= 1
    assert re.search(r"\d\.\d\d", pg.inner_text("#score-text"))
    _save(pg, tmp_path, "explore-article.png")
    assert axe_violations(pg) == []

    pg.click("#ex-back")
    _settle(pg)
    assert pg.is_visible("#ex-dashboard") and "article=" not in pg.url
    assert _list(pg)[0][0] == title
    pg.click("#view-links a[data-view='analyse']")  # the analyser's results are its own again
    assert not pg.is_visible("#results")
    assert pg.js_errors == []
    context.close()


def test_article_view_starts_with_the_lists_span_filters(browser, corpus_url):  # noqa: F811
    context, pg = _open(browser, corpus_url + "/?view=explore&technique=loaded&min_confidence=0.7")
    _settle(pg)
    pg.click("#ex-list a.ps-ex-open >> nth=0")
    _settle(pg)
    shown = pg.evaluate("[...new Set([...document.querySelectorAll('#article-view mark.ps-span')]"
                        ".map(m => m.dataset.technique))]")
    assert shown == ["Loaded_Language"]  # the other techniques are switched off in the legend
    assert pg.input_value("#threshold") == "0.7"
    pg.click("#legend-all")
    shown = pg.evaluate("[...new Set([...document.querySelectorAll('#article-view mark.ps-span')]"
                        ".map(m => m.dataset.technique))]")
    assert set(shown) == {"Loaded_Language", "Name_Calling,Labeling"}  # fear (0.6) stays under 0.7
    assert pg.js_errors == []
    context.close()


def test_stored_payloads_are_shown_as_text_everywhere(browser, xss_url, tmp_path):  # noqa: F811
    """Title, text, outlet, author and URL of an article stored with `propscope ingest` hold HTML and
    script; the page shows them as text in the list, the charts, the filters and the article view, and runs
    nothing."""
    context, pg = _open(browser, xss_url + "/?view=explore&sort=-published&from=2019-02-01&to=2019-02-28")
    _settle(pg)
    titles = [r[0] for r in _list(pg)]
    assert f"Title {XSS}<b>bold</b>" in titles
    outlet = f"Outlet {XSS}"
    assert any(o.startswith(outlet) for o in pg.evaluate(
        "[...document.querySelectorAll('#ex-outlets option')].map(o => o.textContent)"))
    assert any(b.startswith(outlet) for b in _outlet_bars(pg))
    pg.select_option("#ex-a", outlet)
    _settle(pg)
    assert outlet in pg.inner_text("#ex-pair figcaption")
    _save(pg, tmp_path, "explore-xss-list.png")
    pg.click("#ex-list a.ps-ex-open:has-text('bold')")
    _settle(pg)
    assert pg.inner_text("#ex-art-title") == f"Title {XSS}<b>bold</b>"
    assert XSS in pg.inner_text("#article-view")
    assert f"Author {XSS}" in pg.inner_text("#ex-art-meta")
    assert "<script>" in pg.inner_text("#ex-art-meta")  # the URL, as text
    _save(pg, tmp_path, "explore-xss-article.png")
    assert _injected(pg) == {"xss": None, "img": 0}
    assert pg.js_errors == []
    context.close()


def test_without_a_store_the_page_says_how_to_make_one(browser, tmp_path):  # noqa: F811
    with running_server(create_app(FakeDetector())) as url:
        context, pg = _open(browser, url + "/?view=explore")
        assert pg.evaluate("document.body.dataset.explore") == "off"
        hint = pg.inner_text("#store-hint")
        assert "propscope ingest" in hint and "\n" not in hint.strip()
        assert pg.is_visible("#analyze-form")
        assert pg.locator("#view-links a").count() == 1
        context.close()


def test_narrow_screen_explore(browser, corpus_url, tmp_path):  # noqa: F811
    context, pg = _open(browser, corpus_url + "/?view=explore", viewport=(420, 900))
    _settle(pg)
    overflow = pg.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 1
    _save(pg, tmp_path, "explore-narrow.png")
    assert axe_violations(pg) == []
    context.close()


def test_docs_page_lists_the_corpus_routes_with_their_filters(browser, corpus_url, tmp_path):  # noqa: F811
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    pg = context.new_page()
    pg.goto(corpus_url + "/docs")
    pg.wait_for_selector(".ps-api-op")
    text = pg.inner_text("#api-doc")
    for route in ("/api/v1/corpus/stats", "/api/v1/corpus/articles/{article_id}", "/api/v1/corpus/search",
                  "/api/v1/corpus/articles/{article_id}/reuse"):
        assert route in text
    stats = pg.locator(".ps-api-op", has_text="GET /api/v1/corpus/stats").first.inner_text()
    for name in ("from", "to", "outlet", "orientation", "technique", "search", "min_confidence", "by"):
        assert re.search(rf"\b{name}\b", stats)
    assert "(repeatable)" in stats
    _save(pg, tmp_path, "explore-docs.png")
    assert axe_violations(pg) == []
    context.close()


def test_a_store_without_dates_or_outlets(browser, tmp_path):  # noqa: F811
    """As after `propscope ingest ../shared/data/ptc/dev/articles`: no dates, no outlets."""
    rows = [{"id": f"p{i}", "text": f"Plain {i}\n\nThe terrorists must wisen up. Item {i}."}
            for i in range(3)]
    corpus, server = _server(tmp_path, rows)
    with server as url:
        context, pg = _open(browser, url + "/?view=explore")
        _settle(pg)
        assert "3 of 3 articles" in _summary(pg)
        assert "No dated article" in pg.inner_text("#ex-time")
        assert "No outlets" in pg.inner_text("#ex-pair")
        assert [b.split(" (")[0] for b in _outlet_bars(pg)] == ["(unknown)"]
        _save(pg, tmp_path, "explore-undated.png")
        assert axe_violations(pg) == []
        assert pg.js_errors == []
        context.close()
    corpus.close()


COPY_TITLE = f"Mirror {XSS}<b>copy</b>"


@pytest.fixture(scope="module")
def reuse_site(tmp_path_factory):
    """The planted copies of tests/test_corpus_trace.py, D titled with a script payload, plus G (no reuse);
    traced with `propscope trace --db`."""
    folder = tmp_path_factory.mktemp("reuse")
    rows = reuse_rows(copy_title=COPY_TITLE) + [
        {"id": "G", "text": "A quiet day\n\n" + PLAIN, "url": "https://quiet.example/g", "source": "Quiet"}]
    corpus = Corpus(build_traced_store(folder, rows), create=False)
    ids = {s.article.id: s.id for s in corpus.iter_articles()}
    with running_server(create_app(FakeDetector(), corpus=corpus)) as url:
        yield url, ids
    corpus.close()


def _pairs_shown(pg) -> list[list[str]]:
    """The side-by-side table: [this article's passage, the other's] per row."""
    return pg.evaluate("[...document.querySelectorAll('#ex-reuse-pair li.ps-pair')].map(r => "
                       "[...r.querySelectorAll('blockquote')].map(b => b.textContent))")


def _boxed(pg) -> list[list[str]]:
    """The reused passages marked in the article text: [label, text]."""
    return pg.evaluate("[...document.querySelectorAll('#article-view .ps-reused')].map(b => "
                       "[b.querySelector('.ps-reuse-tag').dataset.label, b.textContent])")


def _chosen(pg) -> list[str]:
    return pg.evaluate("[...document.querySelectorAll('#ex-reuse-list button[aria-pressed=true]')]"
                       ".map(b => b.dataset.reuse)")


def test_article_view_shows_text_reuse_side_by_side(browser, reuse_site, tmp_path):  # noqa: F811
    import httpx

    url, ids = reuse_site
    api = httpx.get(f"{url}/api/v1/corpus/articles/{ids['C']}/reuse").json()
    context, pg = _open(browser, f"{url}/?view=explore&article={ids['C']}")
    _settle(pg)
    expect(pg.locator("#ex-reuse h2")).to_have_text("Text reuse")
    rows = _list(pg, "#ex-reuse-list")
    assert [r[1].split("(")[0].strip() for r in rows] == ["Source", "Source", "Copy"]
    assert rows[0][0] == f"{api['sources'][0]['title']} tass.com, 2018-09-07Show 2 passages"
    assert [r[2] for r in rows] == ["verbatim copy", "light rewording", "verbatim copy"]
    assert rows[2][0].startswith(COPY_TITLE)  # the payload in the copy's title is text
    assert [r[3] for r in rows] == [f"{round(100 * x['share'])}% / {round(100 * x['other_share'])}%"
                                   for x in api["sources"] + api["copies"]]
    assert "by publication dates" in rows[0][1]
    assert "probable origin" in pg.inner_text("#ex-reuse-family")

    # the first source is shown at first: its passages side by side and boxed in the article
    assert _chosen(pg) == [str(ids["A"])]
    first = api["sources"][0]["passages"]
    assert _pairs_shown(pg) == [[p["text"], p["other_text"]] for p in first]
    assert _boxed(pg) == [[f"reused {i + 1}", p["text"]] for i, p in enumerate(first)]
    assert pg.locator("#article-view .ps-reused mark.ps-span").count() >= 1  # technique marks stay inside
    _save(pg, tmp_path, "explore-reuse.png")
    assert axe_violations(pg) == []

    # choose the second source with the keyboard: the URL keeps the choice
    pg.focus(f"#ex-reuse-list button[data-reuse='{ids['B']}']")
    pg.keyboard.press("Enter")
    assert _chosen(pg) == [str(ids["B"])]
    second = api["sources"][1]["passages"]
    assert _pairs_shown(pg) == [[p["text"], p["other_text"]] for p in second]
    assert [b[1] for b in _boxed(pg)] == [p["text"] for p in second]
    assert parse_qs(urlsplit(pg.url).query)["reuse"] == [str(ids["B"])]

    # open the source: its view shows this pair from the other side; Back returns
    pg.click(f"#ex-reuse-list tr[data-reuse='{ids['A']}'] a")
    _settle(pg)
    assert parse_qs(urlsplit(pg.url).query)["article"] == [str(ids["A"])]
    assert pg.inner_text("#ex-art-title") == api["sources"][0]["title"]
    assert pg.evaluate("document.activeElement.id") == "ex-art-title"
    assert _chosen(pg) == [str(ids["C"])]
    assert {r[1].split("(")[0].strip() for r in _list(pg, "#ex-reuse-list")} == {"Copy"}
    assert _pairs_shown(pg) == [[p["other_text"], p["text"]] for p in first]
    pg.go_back()
    _settle(pg)
    assert parse_qs(urlsplit(pg.url).query)["article"] == [str(ids["C"])]
    assert _chosen(pg) == [str(ids["B"])]
    assert pg.inner_text("#ex-art-title").startswith("Putin hopes terrorists in Idlib will wisen up")
    assert _injected(pg) == {"xss": None, "img": 0}  # D's title, a script payload, is shown as text
    assert pg.js_errors == []
    context.close()


def test_reuse_of_unknown_direction_none_and_not_traced(browser, reuse_site, tmp_path):  # noqa: F811
    url, ids = reuse_site
    context, pg = _open(browser, f"{url}/?view=explore&article={ids['F']}")
    _settle(pg)
    [row] = _list(pg, "#ex-reuse-list")
    assert row[1].startswith("Shares text") and "direction unknown" in row[1]
    pg.goto(f"{url}/?view=explore&article={ids['G']}")
    _settle(pg)
    assert pg.inner_text("#ex-reuse-none").startswith("No reuse found")
    assert _boxed(pg) == [] and pg.locator("#ex-reuse-pair *").count() == 0
    context.close()

    context, pg = _open(browser, f"{url}/?view=explore&article={ids['C']}", viewport=(420, 900))
    _settle(pg)
    assert len(_pairs_shown(pg)) >= 1
    overflow = pg.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 1
    _save(pg, tmp_path, "explore-reuse-narrow.png")
    context.close()

    corpus, server = _server(tmp_path, reuse_rows())  # ingested, never traced
    with server as url2:
        context, pg = _open(browser, f"{url2}/?view=explore&article=1")
        _settle(pg)
        line = pg.inner_text("#ex-reuse-none")
        assert f"propscope trace --db {corpus.name}" in line and "\n" not in line.strip()
        assert axe_violations(pg) == []
        assert pg.js_errors == []
        context.close()
    corpus.close()
