import gzip
import io
import os
import sys
import time
from pathlib import Path

import pytest
from conftest import SAMPLE_PATH

import propscope
from propscope import InputError
from propscope.read import (
    article_from_html,
    article_from_text,
    article_id,
    iter_articles,
    read_one,
    sniff_format,
)

DATA = Path(__file__).parent / "data"
BODY = "Leaders meet in Tehran\n\nThe presidents met on Friday. “We believe an agreement will be reached.”\n"


def _ok(items):
    return [i for i in items if not isinstance(i, InputError)]


def _errors(items):
    return [i for i in items if isinstance(i, InputError)]


# --- plain text ------------------------------------------------------------------------------------

def test_ptc_file_keeps_text_and_takes_id_from_name():
    a = read_one(DATA / "article111.txt")
    assert a.id == "111" and a.title == "Leaders meet in Tehran" and a.format == "text"
    assert a.text == (DATA / "article111.txt").read_text(encoding="utf-8")
    assert a.source == str(DATA / "article111.txt")


def test_sample_is_cleaned_but_no_clean_keeps_it_byte_for_byte():
    raw = SAMPLE_PATH.read_text(encoding="utf-8")
    a = propscope.read(SAMPLE_PATH)
    assert a.id == "idlib-truce"
    assert a.text.startswith("Putin hopes terrorists in Idlib will wisen up and lay down arms\n\nRussian")
    assert "You might also like" not in a.text and "cookies" not in a.text
    assert a.cleaning.removed
    b = propscope.read(str(SAMPLE_PATH), clean=False)
    assert b.text == raw and b.cleaning.removed == []


def test_article_from_text_title_handling():
    assert article_from_text(BODY, id="x").title == "Leaders meet in Tehran"
    a = article_from_text("Only a body sentence.", id="x", title="The title")
    assert a.text == "The title\n\nOnly a body sentence." and a.title == "The title"
    b = article_from_text(BODY, id="x", title="Leaders meet in Tehran")
    assert b.text == BODY


def test_ids():
    assert article_id("a/b/article123456.txt") == "123456"
    assert article_id("a/article9.txt.gz") == "9"
    assert article_id("news/my-story.html") == "my-story"
    assert article_id("articleX.txt") == "articleX"


def test_string_input_is_content_unless_it_names_a_file():
    a = read_one(BODY)
    assert a.id == "text" and a.title == "Leaders meet in Tehran"
    h = read_one("<html><body><article><h1>T</h1><p>A paragraph of the article body.</p></article></body>")
    assert h.format == "html" and h.text == "T\n\nA paragraph of the article body."
    assert read_one(str(DATA / "article111.txt")).id == "111"
    with pytest.raises(InputError, match="no such file"):
        read_one("missing/article1.txt")


def test_crlf_becomes_lf(tmp_path):
    p = tmp_path / "crlf.txt"
    p.write_bytes(b"Title\r\n\r\nBody line.\r\n")
    assert read_one(p, clean=False).text == "Title\n\nBody line.\n"


# --- HTML ------------------------------------------------------------------------------------------

def test_html_page_main_text_and_metadata():
    a = read_one(DATA / "page.html")
    assert a.format == "html" and a.id == "page"
    assert a.title == "Putin hopes terrorists lay down arms"
    assert a.text.startswith("Putin hopes terrorists lay down arms\n\nRussian President Vladimir Putin")
    assert "Tehran summit" in a.text
    assert a.author == "Jane Doe" and a.published == "2018-09-07" and a.site == "Muraselon"
    for junk in ("Share this article", "cookies", "You might also like", "Home"):
        assert junk not in a.text


def test_html_is_sniffed_by_content_not_extension(tmp_path):
    p = tmp_path / "saved.txt"
    p.write_bytes((DATA / "page.html").read_bytes())
    assert read_one(p).format == "html"
    assert sniff_format("Title\n\nThe <p> tag starts a paragraph.") == "text"
    assert sniff_format('{"text": "x"}\n') == "jsonl"


def test_broken_html_does_not_crash(tmp_path):
    p = tmp_path / "broken.html"
    p.write_text("<html><body><div><p>The minister said the talks had failed and would not resume this year"
                 "<p>Officials <b>refused <i>to comment</div></span></p>", encoding="utf-8")
    a = read_one(p)
    assert "talks had failed" in a.text


def test_html_without_text_is_an_input_error():
    with pytest.raises(InputError, match="no article text found in HTML"):
        article_from_html("<html><head><title></title></head><body><script>x=1</script></body>", id="e")


# --- JSONL -----------------------------------------------------------------------------------------

def test_jsonl_one_article_per_line():
    items = list(iter_articles([DATA / "articles.jsonl"]))
    assert _errors(items) == []
    a1, a2, a3 = items
    assert (a1.id, a1.title, a1.url, a1.published, a1.format) == (
        "a1", "First story", "https://example.com/1", "2018-09-07", "jsonl")
    assert a1.text == "First story\n\nThe first body sentence."
    assert a2.id == "articles:2" and a2.source == "Example Wire" and a2.title == "Second story"
    assert a3.id == "a3" and a3.text.startswith("Third story\n\nThe third body is HTML")


def test_jsonl_bad_lines_are_errors_naming_file_and_line(tmp_path):
    p = tmp_path / "mixed.jsonl"
    p.write_text('{"text": "Good one\\n\\nBody."}\nnot json\n{"title": "no text"}\n[1, 2]\n{"text": ""}\n'
                 '{"id": 7, "text": "Also good\\n\\nBody."}\n', encoding="utf-8")
    items = list(iter_articles([p]))
    assert [a.id for a in _ok(items)] == ["mixed:1", "7"]
    errs = _errors(items)
    assert [e.source for e in errs] == [f"{p}:2", f"{p}:3", f"{p}:4", f"{p}:5"]
    assert "not valid JSON" in errs[0].reason and '"text" or "html"' in errs[1].reason


def test_read_one_refuses_multi_article_jsonl():
    with pytest.raises(InputError, match="holds 3 articles.*iter_articles"):
        read_one(DATA / "articles.jsonl")


# --- directories, several paths, stdin, gzip -------------------------------------------------------

def test_directory_is_walked_recursively_in_sorted_order(tmp_path):
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "article2.txt").write_text("Two\n\nBody two.", encoding="utf-8")
    (tmp_path / "article1.txt").write_text("One\n\nBody one.", encoding="utf-8")
    with gzip.open(tmp_path / "b" / "article3.txt.gz", "wt", encoding="utf-8") as f:
        f.write("Three\n\nBody three.")
    (tmp_path / "page.htm").write_bytes((DATA / "page.html").read_bytes())
    (tmp_path / "notes.md").write_text("# not an article", encoding="utf-8")
    (tmp_path / ".hidden.txt").write_text("Hidden\n\nSkipped.", encoding="utf-8")
    items = list(iter_articles([tmp_path, DATA / "article111.txt"]))
    assert [a.id for a in items] == ["1", "2", "3", "page", "111"]


def test_missing_path_and_empty_directory_are_errors(tmp_path):
    items = list(iter_articles([tmp_path / "nope.txt", tmp_path]))
    assert [e.reason for e in items] == ["no such file or directory",
                                         "no .txt, .html, .htm or .jsonl files in this directory"]


def test_stdin_is_sniffed(monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(BODY.encode("utf-8"))))
    (a,) = list(iter_articles(["-"]))
    assert a.id == "stdin" and a.text == BODY
    jsonl = (DATA / "articles.jsonl").read_bytes()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(jsonl)))
    assert [a.id for a in iter_articles(["-"])] == ["a1", "stdin:2", "a3"]


def test_bad_gzip_is_an_error(tmp_path):
    p = tmp_path / "article5.txt.gz"
    p.write_bytes(b"\x1f\x8b\x08\x00garbage")
    (e,) = list(iter_articles([p]))
    assert isinstance(e, InputError) and "gzip" in e.reason


# --- bad input -------------------------------------------------------------------------------------

@pytest.mark.parametrize("content", [b"", b"  \n\t\n  "])
def test_empty_file(tmp_path, content):
    p = tmp_path / "empty.txt"
    p.write_bytes(content)
    with pytest.raises(InputError, match="empty file") as info:
        read_one(p)
    assert info.value.source == str(p)


def test_binary_file(tmp_path):
    p = tmp_path / "image.txt"
    p.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 20)
    with pytest.raises(InputError, match="binary file, not text"):
        read_one(p)


def test_latin1_text_is_decoded(tmp_path):
    text = ("Café société\n\nLe ministre a déclaré que la réforme était nécessaire, "
            "à l'été précédent, où rien n'était prêt.")
    p = tmp_path / "latin1.txt"
    p.write_bytes(text.encode("latin-1"))
    assert read_one(p).text == text


@pytest.mark.parametrize("encoding", ["utf-16", "utf-8-sig", "utf-32"])
def test_text_with_bom_is_decoded(tmp_path, encoding):
    p = tmp_path / "bom.txt"
    p.write_bytes(BODY.encode(encoding))  # utf-16 and utf-32 write a BOM
    a = read_one(p, clean=False)
    assert a.text == BODY and not a.text.startswith("\ufeff")


def test_utf16_without_bom_is_decoded(tmp_path):
    p = tmp_path / "le.txt"
    p.write_bytes(BODY.encode("utf-16-le"))
    assert read_one(p, clean=False).text == BODY


def test_nul_bytes_in_text_are_removed_and_reported(tmp_path):
    p = tmp_path / "nul.txt"
    p.write_bytes(b"Title\n\nA body sentence\x00 with a stray NUL byte in the middle of the article text.")
    a = read_one(p)
    assert "\x00" not in a.text and "sentence with" in a.text
    assert [r.reason for r in a.cleaning.removed] == ["NUL characters"]
    assert "\x00" in read_one(p, clean=False).text  # --no-clean keeps the text as it was


def test_ten_megabyte_file_is_read(tmp_path):
    para = "The minister said the talks would resume next week, and officials agreed to meet again.\n\n"
    p = tmp_path / "big.txt"
    p.write_text("A very long article\n\n" + para * (10_000_000 // len(para)), encoding="utf-8")
    t0 = time.perf_counter()
    a = read_one(p)
    assert len(a.text) > 9_900_000 and a.title == "A very long article"
    assert time.perf_counter() - t0 < 30


def test_file_over_the_size_limit_is_refused(tmp_path):
    p = tmp_path / "huge.txt"
    with open(p, "wb") as f:  # sparse: takes no disk space
        f.truncate(51 * 1024 * 1024)
    with pytest.raises(InputError, match="file too large"):
        read_one(p)


def test_unreadable_file_in_directory_is_one_error_and_the_batch_goes_on(tmp_path, monkeypatch):
    (tmp_path / "article1.txt").write_text("One\n\nBody one.", encoding="utf-8")
    locked = tmp_path / "article2.txt"
    locked.write_text("Two\n\nBody two.", encoding="utf-8")
    (tmp_path / "article3.txt").write_text("Three\n\nBody three.", encoding="utf-8")
    locked.chmod(0)
    if os.access(locked, os.R_OK):  # running as root: simulate the permission error
        real = Path.read_bytes

        def read_bytes(self):
            if self == locked:
                raise PermissionError(13, "Permission denied", str(self))
            return real(self)
        monkeypatch.setattr(Path, "read_bytes", read_bytes)
    try:
        items = list(iter_articles([tmp_path]))
    finally:
        locked.chmod(0o644)
    assert [a.id for a in _ok(items)] == ["1", "3"]
    (err,) = _errors(items)
    assert err.source == str(locked) and err.reason == "permission denied"


def test_import_is_cheap():
    import subprocess  # a fresh interpreter: other tests may have imported heavy modules already

    heavy = "('torch', 'onnxruntime', 'trafilatura')"
    code = f"import sys, propscope; print([m for m in {heavy} if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
