"""Hostile input (issue 13): each defect of the review has a regression test here. The small inputs are in
tests/hostile/; the big ones are generated."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import FakeDetector
from typer.testing import CliRunner

from propscope.cli import _register, app
from propscope.pipeline import SEGMENT_CHARS, analyze_articles, detect_text
from propscope.read import iter_articles, read_one
from propscope.readers.decode import decode_text

HOSTILE = Path(__file__).resolve().parent / "hostile"
REPO = Path(__file__).resolve().parents[1]

_register()


def run(*args, input=None):
    return CliRunner().invoke(app, list(map(str, args)), input=input)


def errors(result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("error: ")]


def articles(path) -> list:
    return [a for a in iter_articles([path]) if not isinstance(a, Exception)]


# 1. A lone surrogate ------------------------------------------------------------------------------------


def test_lone_surrogate_is_replaced_and_noted_and_the_real_tokenizer_takes_it():
    from propscope.detect.base import load_detector

    lone, fine = articles(HOSTILE / "surrogate.jsonl")
    assert "\ud800" not in lone.text and "\ufffd" in lone.text
    assert lone.cleaning.notes == ["1 lone surrogate code point replaced by U+FFFD"]
    assert lone.warnings == lone.cleaning.notes and fine.warnings == []
    # the shipped tokenizer raised TypeError on the surrogate and failed the whole batch
    analyses = analyze_articles([lone, fine], load_detector("fast"))
    assert [a.article.id for a in analyses] == ["lone", "fine"]
    json.dumps([a.model_dump(mode="json") for a in analyses], ensure_ascii=False).encode("utf-8")


def test_lone_surrogate_in_the_cli_batch_fails_nothing(fake_detector, tmp_path):
    out = tmp_path / "out.jsonl"
    r = run("analyze", HOSTILE / "surrogate.jsonl", SAMPLE_DIR(tmp_path), "-o", out)
    assert r.exit_code == 0, r.output
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 3 and not errors(r)


def SAMPLE_DIR(tmp_path: Path) -> Path:  # noqa: N802
    d = tmp_path / "news"
    d.mkdir(exist_ok=True)
    shutil.copy(REPO / "examples" / "idlib-truce.txt", d / "article1.txt")
    return d


# 2. Encodings --------------------------------------------------------------------------------------------


def test_utf8_with_one_bad_byte_stays_utf8_and_the_replacement_is_recorded():
    art = read_one(HOSTILE / "bad-byte.txt", clean=False)
    assert "“terrorists” and it’s over. \ufffd The rest ’ stays “curly”." in art.text
    assert "â€" not in art.text and "‚Äô" not in art.text
    assert art.cleaning.notes == ["1 invalid UTF-8 byte sequence replaced by U+FFFD"]
    assert art.warnings == art.cleaning.notes


@pytest.mark.parametrize(("text", "encoding"), [
    ("Café society", "cp1252"),
    ("naïve", "cp1252"),
    ("Cumhurbaşkanı savaşın bittiğini söyledi. Güzel şeyler oluyor.", "cp1254"),
    ("Президент сказал, что война закончилась и все идут домой.", "cp1251"),
    ("Zażółć gęślą jaźń. Prezydent powiedział, że wojna się skończyła.", "cp1250"),
])
def test_legacy_encodings_are_chosen_by_the_detector(text, encoding):
    assert decode_text(text.encode(encoding), "x") == (text, [])


def test_cp1252_file_reads_right():
    art = read_one(HOSTILE / "cp1252.txt")
    assert art.title == "Café society" and "naïve terrorists of the café said “no”" in art.text
    assert art.warnings == []


# 3. Output files never destroy data ----------------------------------------------------------------------


def test_output_that_is_an_input_is_refused_and_the_input_kept(fake_detector, tmp_path):
    a = tmp_path / "a.txt"
    shutil.copy(REPO / "examples" / "idlib-truce.txt", a)
    before = a.read_bytes()
    r = run("analyze", a, "-o", a, "--format", "json")
    assert r.exit_code == 2 and "is also an input" in " ".join(r.output.replace("│", " ").split())
    assert a.read_bytes() == before


def test_failed_run_leaves_an_existing_output_as_it_was(fake_detector, tmp_path):
    results = tmp_path / "results.jsonl"
    results.write_text('{"kept": true}\n', encoding="utf-8")
    r = run("analyze", tmp_path / "typo.txt", "-o", results)
    assert r.exit_code == 1 and errors(r) == [f"error: {tmp_path / 'typo.txt'}: no such file or directory"]
    assert results.read_text(encoding="utf-8") == '{"kept": true}\n'
    assert "left as it was" in r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.jsonl"]  # no temporary file left


def test_output_inside_an_input_folder_is_not_read_back(fake_detector, tmp_path):
    news = SAMPLE_DIR(tmp_path)
    out = news / "results.jsonl"
    for _ in range(2):
        r = run("analyze", news, "-o", out)
        assert r.exit_code == 0, r.output
        assert not errors(r) and len(out.read_text(encoding="utf-8").splitlines()) == 1
    # another run writing elsewhere skips it as propscope output, with one line
    r = run("analyze", news, "-o", tmp_path / "other.jsonl")
    assert errors(r) == [f"error: {out}: holds propscope output (analyses), not articles; skipped"]


def test_write_error_is_one_line_and_exit_1(fake_detector):
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full here")
    r = run("analyze", REPO / "examples" / "idlib-truce.txt", "--format", "json", "-o", "/dev/full")
    assert r.exit_code == 1
    assert r.stderr.strip().splitlines() == ["error: cannot write /dev/full: No space left on device"]
    assert "Traceback" not in r.output


# 4. Huge inputs ------------------------------------------------------------------------------------------


def test_article_over_the_length_limit_is_refused_and_the_batch_goes_on(fake_detector, tmp_path):
    big = tmp_path / "big.txt"
    big.write_text("Title\n\n" + "The terrorists will wisen up.\n" * 40_000, encoding="utf-8")  # 1.2 M chars
    record = json.dumps({"id": "huge", "text": "x " * 5_000_000})  # a 10 MB JSONL record
    feed = tmp_path / "feed.jsonl"
    feed.write_text(record + "\n" + json.dumps({"id": "ok", "text": "T\n\nterrorists"}) + "\n",
                    encoding="utf-8")
    out = tmp_path / "out.jsonl"
    r = run("analyze", big, feed, "-o", out)
    assert r.exit_code == 1
    assert errors(r) == [
        f"error: {big}: article too long (1,200,007 characters; the limit is 1,000,000, about a minute of "
        "analysis per million characters on 2 cores; raise it with --max-chars)",
        f"error: {feed}:1: article too long (10,000,000 characters; the limit is 1,000,000, about a minute "
        "of analysis per million characters on 2 cores; raise it with --max-chars)",
    ]
    assert [json.loads(x)["article"]["id"] for x in out.read_text().splitlines()] == ["ok"]
    r = run("analyze", big, "--max-chars", "2000000", "-f", "jsonl")
    assert r.exit_code == 0 and json.loads(r.stdout)["counts"]["Name_Calling,Labeling"] == 40_000


def test_long_article_reports_progress_and_gives_the_same_spans():
    det = FakeDetector()
    text = "Title\n\n" + "The terrorists will wisen up.\n" * 10_000  # 300 k chars: 7 segments
    seen: list[int] = []
    preds = detect_text(det, text, progress=seen.append)
    assert len(seen) > 5 and sum(seen) == len(text) and max(seen) <= SEGMENT_CHARS
    assert preds == det.detect([text])[0]


# 5 and 11. The server ------------------------------------------------------------------------------------


@pytest.fixture
def app_client():
    from fastapi.testclient import TestClient

    from propscope.server.app import create_app

    with TestClient(create_app(FakeDetector())) as c:
        yield c


def test_deeply_nested_json_gets_422(app_client):
    body = b'{"text": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    r = app_client.post("/api/v1/analyze", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 422 and "nested too deeply" in r.json()["detail"]


def test_server_takes_a_lone_surrogate(app_client):
    body = b'{"text": "T\\n\\nx \\ud800 y terrorists"}'
    r = app_client.post("/api/v1/analyze", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 200
    assert r.json()["article"]["cleaning"]["notes"] == ["1 lone surrogate code point replaced by U+FFFD"]


def test_server_refuses_an_overlong_article_with_422():
    from fastapi.testclient import TestClient

    from propscope.server.app import create_app

    with TestClient(create_app(FakeDetector(), max_chars=1000)) as c:
        r = c.post("/api/v1/analyze", json={"text": "x" * 1001})
    assert r.status_code == 422 and "article too long" in r.json()["detail"]


def test_host_header_must_be_an_allowed_name():
    from fastapi.testclient import TestClient

    from propscope.cli.serve import allowed_hosts
    from propscope.server.app import create_app

    hosts = allowed_hosts("127.0.0.1", [])
    assert hosts == ("127.0.0.1", "localhost", "::1")
    assert allowed_hosts("0.0.0.0", []) == ("*",)
    assert allowed_hosts("0.0.0.0", ["a.example"]) == ("a.example",)
    with TestClient(create_app(FakeDetector(), allowed_hosts=hosts)) as c:
        for host in ("localhost:8000", "127.0.0.1:8000", "[::1]:8000", "LOCALHOST"):
            assert c.get("/healthz", headers={"host": host}).status_code == 200, host
        for host in ("evil.example:8000", "127.0.0.1.evil.example", ""):
            r = c.get("/healthz", headers={"host": host})
            assert r.status_code == 400 and "not served here" in r.json()["detail"], host


class SegmentDetector(FakeDetector):
    """Takes ``delay`` seconds per call (one call per segment of a long article) and counts the calls."""

    def __init__(self, delay: float) -> None:
        super().__init__()
        self.delay = delay
        self.calls = 0

    def detect(self, texts):
        import time

        self.calls += 1
        time.sleep(self.delay)
        return super().detect(texts)


def _long_text(segments: int) -> str:
    return "Title\n\n" + ("The terrorists will wisen up.\n" * (SEGMENT_CHARS // 30)) * segments


def test_analysis_stops_when_the_client_goes_away():
    import time

    import httpx
    from server_fixtures import running_server

    from propscope.server.app import create_app

    det = SegmentDetector(0.5)
    with running_server(create_app(det, max_chars=None)) as base:
        with pytest.raises(httpx.ReadTimeout):
            httpx.post(base + "/api/v1/analyze", json={"text": _long_text(20)}, timeout=1.0)
        time.sleep(2.5)
        calls = det.calls
        time.sleep(1.5)
        assert det.calls == calls and calls < 8  # stopped, well before its 20 segments


def test_analysis_past_the_time_limit_gets_503_and_stops():
    import time

    import httpx
    from server_fixtures import running_server

    from propscope.server.app import create_app

    det = SegmentDetector(0.4)
    with running_server(create_app(det, max_chars=None, request_timeout=1.0)) as base:
        t0 = time.monotonic()
        r = httpx.post(base + "/api/v1/analyze", json={"text": _long_text(20)}, timeout=30)
        assert r.status_code == 503 and "1-second limit" in r.json()["detail"]
        assert time.monotonic() - t0 < 3
        time.sleep(1.0)
        calls = det.calls
        time.sleep(1.0)
        assert det.calls == calls < 8


def test_stalled_upload_gets_408():
    import socket
    import time
    from urllib.parse import urlparse

    from server_fixtures import running_server

    from propscope.server.app import create_app

    with running_server(create_app(FakeDetector(), body_timeout=1.0)) as base:
        u = urlparse(base)
        with socket.create_connection((u.hostname, u.port), timeout=10) as s:
            s.sendall(b"POST /api/v1/analyze HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                      b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"text\": \"short")
            t0 = time.monotonic()
            answer = b""
            while b"stalled" not in answer:  # the head and the body may arrive in separate reads
                chunk = s.recv(65536)
                if not chunk:
                    break
                answer += chunk
            answer = answer.decode()
        assert answer.startswith("HTTP/1.1 408") and "stalled" in answer
        assert time.monotonic() - t0 < 5


PROPSCOPE_EXE = Path(os.sys.executable).parent / "propscope"


@pytest.mark.skipif(not PROPSCOPE_EXE.exists(), reason="the propscope script is not installed beside python")
def test_serve_stops_within_seconds_while_an_analysis_runs(tmp_path):
    """`propscope serve` with the real (fast) model: Ctrl+C during a long analysis exits in a few seconds."""
    import signal
    import socket
    import threading
    import time

    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([str(PROPSCOPE_EXE), "serve", "--model", "fast", "--port", str(port)],
                            stderr=subprocess.PIPE, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline and proc.poll() is None, "server did not start"
            time.sleep(0.3)
        text = "Title\n\n" + "The president said the terrorists will wisen up soon.\n" * 15_000
        t = threading.Thread(target=lambda: _swallow(lambda: httpx.post(
            base + "/api/v1/analyze", json={"text": text}, timeout=60)), daemon=True)
        t.start()
        time.sleep(3)
        t0 = time.monotonic()
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
        assert time.monotonic() - t0 < 12, err
        assert "Traceback" not in err and "CancelledError" not in err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _swallow(fn) -> None:
    try:
        fn()
    except Exception:  # the server goes away during the request: that is the point
        pass


# 6. HTML with a huge inline image ------------------------------------------------------------------------


def test_html_with_an_11_mb_inline_image_keeps_the_whole_article():
    from propscope.read import article_from_html

    html = ('<html><head><title>Story</title></head><body><article><p>First paragraph of the story, long '
            'enough to count as text.</p><img src="data:image/png;base64,' + "A" * 11_000_000 + '"><p>Second '
            'paragraph after the image, also long enough to be kept.</p></article></body></html>')
    art = article_from_html(html, id="img")
    assert "First paragraph" in art.text and "Second paragraph after the image" in art.text
    assert art.warnings == []


def test_html_with_a_text_run_over_10_mb_says_the_page_may_be_cut():
    from propscope.read import article_from_html

    html = "<html><body><p>First paragraph of the story.</p><p>" + "word " * 2_100_000 + "</p></body></html>"
    art = article_from_html(html, id="cut")
    assert any("may be cut" in w for w in art.warnings)


# 7. Language ---------------------------------------------------------------------------------------------


def test_non_english_gets_a_warning_and_lang_overrides_it(fake_detector):
    r = run("analyze", HOSTILE / "german.txt", "-f", "json")
    art = json.loads(r.stdout)["article"]
    assert art["language"] == "de" and "not English" in art["warnings"][0]
    r = run("analyze", HOSTILE / "german.txt", "-f", "json", "--lang", "en")
    art = json.loads(r.stdout)["article"]
    assert art["language"] == "en" and art["warnings"] == []
    r = run("analyze", REPO / "examples" / "idlib-truce.txt", "-f", "json")
    art = json.loads(r.stdout)["article"]
    assert art["language"] == "en" and art["warnings"] == []


def test_api_reports_the_language_warning(app_client):
    text = (HOSTILE / "german.txt").read_text(encoding="utf-8")
    r = app_client.post("/api/v1/analyze", json={"text": text})
    assert r.status_code == 200 and "not English" in r.json()["article"]["warnings"][0]
    r = app_client.post("/api/v1/analyze", json={"text": text, "lang": "en"})
    assert r.json()["article"]["warnings"] == []


# 10. The train extra installs the CPU build of torch -----------------------------------------------------


def test_make_passes_the_torch_index_to_pip():
    if not shutil.which("make"):
        pytest.skip("make is not installed")
    cmd = ["make", "-n", "-B", "install-dev", "TORCH_INDEX=https://download.pytorch.org/whl/cpu"]
    out = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, check=True).stdout
    assert "pip install -q --index-url https://download.pytorch.org/whl/cpu 'torch" in out
    out = subprocess.run(["make", "-n", "-B", "install-dev"], cwd=REPO, capture_output=True, text=True,
                         check=True).stdout
    assert "pip install -q -e '.[train,dev,ray]'" in out and "index-url" not in out


# 11. Smaller ones ----------------------------------------------------------------------------------------


def test_unreadable_subdirectory_is_an_error_line(monkeypatch, tmp_path):
    news = SAMPLE_DIR(tmp_path)
    locked = news / "locked"
    locked.mkdir()
    real = os.scandir

    def scandir(path="."):
        if Path(path) == locked:
            raise PermissionError(13, "Permission denied", str(locked))
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)
    items = list(iter_articles([news]))
    errs = [str(x) for x in items if isinstance(x, Exception)]
    assert errs == [f"{locked}: cannot read directory (Permission denied)"]
    assert len(items) == 2


def test_bad_json_message_has_no_doubled_word():
    (err, fine) = list(iter_articles([HOSTILE / "bad-json.jsonl"]))
    assert str(err) == (f"{HOSTILE / 'bad-json.jsonl'}:1: not valid JSON (Unterminated string starting at "
                        "column 10)")
    assert fine.id == "bad-json:2"


def test_every_input_failing_prints_no_empty_table(fake_detector, tmp_path):
    r = run("analyze", tmp_path / "a.txt", tmp_path / "b.txt")
    assert r.exit_code == 1 and r.stdout == "" and len(errors(r)) == 2


def test_title_must_be_a_string_and_dates_must_be_dates():
    t5, nd, gd = articles(HOSTILE / "metadata.jsonl")
    assert t5.title == "The terrorists will wisen up." and t5.text.startswith("The terrorists")
    assert t5.warnings == ['"title" must be a string, got int (5); ignored']
    assert nd.published is None
    assert nd.warnings == ['"date": \'not a date\' is not a date (ISO 8601 or RFC 2822); ignored']
    assert gd.published == "2018-09-07T10:00:00+00:00" and gd.warnings == []


def test_gzipped_hostile_inputs_read_the_same(tmp_path):
    gz = tmp_path / "bad-byte.txt.gz"
    gz.write_bytes(gzip.compress((HOSTILE / "bad-byte.txt").read_bytes()))
    assert read_one(gz, clean=False).text == read_one(HOSTILE / "bad-byte.txt", clean=False).text


def test_sentence_scores_of_a_long_article_take_seconds_not_hours():
    """score_sentences compared every sentence with every span: 40,000 short lines took about half an hour."""
    import time

    from propscope.detect.scores import score_sentences

    text = "The terrorists will wisen up.\n" * 40_000
    spans = [(m, m + 10, 0.5) for m in range(4, len(text), 30)]
    t0 = time.monotonic()
    scored = score_sentences(text, spans)
    assert time.monotonic() - t0 < 20
    assert len(scored) == 40_000 and all(s.n_spans == 1 and s.score == 0.5 for s in scored)
