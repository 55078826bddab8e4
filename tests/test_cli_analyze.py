import csv
import io
import json
import shutil

import pytest
from conftest import PTC_ROOT, SAMPLE_PATH
from typer.testing import CliRunner

from propscope.cli import _register, app

_register()


def run(*args, input=None):
    return CliRunner().invoke(app, list(map(str, args)), input=input)


def _error_lines(result):
    return [line for line in result.stderr.splitlines() if line.startswith("error: ")]


def test_one_article_gives_the_highlighted_view(fake_detector):
    r = run("analyze", SAMPLE_PATH)
    assert r.exit_code == 0, r.output
    out = r.stdout
    assert "Putin hopes terrorists in Idlib will wisen up and lay down arms" in out
    assert "Techniques found" in out and "Name calling / labeling" in out and "Loaded language" in out
    assert "[1]" in out and "0.90" in out and "fake-test-detector" in out
    assert "You might also like" not in out


def test_json_for_the_sample_keeps_title_and_body_without_leftovers(fake_detector):
    r = run("analyze", SAMPLE_PATH, "--format", "json")
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert d["schema_version"] == "1.1" and d["model"] == "fake-test-detector 0"
    text = d["article"]["text"]
    assert text.startswith("Putin hopes terrorists in Idlib will wisen up and lay down arms\n\nRussian")
    assert text.endswith("coordination on this issue.")
    assert "You might also like" not in text and "cookie" not in text.lower()
    assert d["article"]["cleaning"]["removed"]
    assert d["spans"] and all(text[s["start"]:s["end"]] == s["text"] for s in d["spans"])
    assert d["counts"]["Name_Calling,Labeling"] == sum(s["technique"] == "Name_Calling,Labeling"
                                                      for s in d["spans"])


def test_no_clean_keeps_the_text_byte_for_byte(fake_detector):
    r = run("analyze", SAMPLE_PATH, "--format", "json", "--no-clean")
    assert json.loads(r.stdout)["article"]["text"] == SAMPLE_PATH.read_text(encoding="utf-8")


def test_several_inputs_json_list_jsonl_csv_ptc(fake_detector, tmp_path):
    other = tmp_path / "article7.txt"
    other.write_text("Second title\n\nThe terrorists wisen up.", encoding="utf-8")
    r = run("analyze", SAMPLE_PATH, other, "-f", "json")
    assert r.exit_code == 0 and [d["article"]["id"] for d in json.loads(r.stdout)] == ["idlib-truce", "7"]
    r = run("analyze", SAMPLE_PATH, other, "-f", "jsonl")
    assert [json.loads(x)["article"]["id"] for x in r.stdout.splitlines()] == ["idlib-truce", "7"]
    r = run("analyze", other, "-f", "csv")
    rows = list(csv.reader(io.StringIO(r.stdout)))
    assert rows[0] == ["article_id", "start", "end", "technique", "confidence", "text"]
    assert rows[1] == ["7", "18", "28", "Name_Calling,Labeling", "0.9", "terrorists"]
    r = run("analyze", other, "-f", "ptc")
    assert r.stdout.splitlines() == ["7\tName_Calling,Labeling\t18\t28", "7\tLoaded_Language\t29\t37"]


def test_output_file_and_format_from_its_extension(fake_detector, tmp_path):
    out = tmp_path / "result.jsonl"
    r = run("analyze", SAMPLE_PATH, "-o", out)
    assert r.exit_code == 0, r.output
    assert json.loads(out.read_text(encoding="utf-8"))["article"]["id"] == "idlib-truce"
    r = run("analyze", SAMPLE_PATH, "-o", tmp_path / "result.xyz")
    assert r.exit_code == 2 and "--format" in r.output


def test_stdin(fake_detector):
    r = run("analyze", "-", "-f", "json", input=SAMPLE_PATH.read_text(encoding="utf-8"))
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["article"]["id"] == "stdin"


def test_several_inputs_without_format_show_a_summary(fake_detector, tmp_path):
    shutil.copy(SAMPLE_PATH, tmp_path / "a.txt")
    shutil.copy(SAMPLE_PATH, tmp_path / "b.txt")
    r = run("analyze", tmp_path)
    assert r.exit_code == 0, r.output
    assert "2 articles analysed" in r.stdout and "Name calling / labeling" in r.stdout
    assert fake_detector.batches == [2]


def test_detector_gets_batches(fake_detector, tmp_path):
    for i in range(20):
        (tmp_path / f"article{i}.txt").write_text(f"Title {i}\n\nThe terrorists wisen up.", encoding="utf-8")
    r = run("analyze", tmp_path, "-f", "jsonl")
    assert r.exit_code == 0 and len(r.stdout.splitlines()) == 20
    assert fake_detector.batches == [16, 4]


def _seven_articles(tmp_path):
    """Seven PTC articles (copied from ../shared when present, else generated PTC-like ones)."""
    files = sorted((PTC_ROOT / "dev" / "articles").glob("article*.txt"))[:7] if PTC_ROOT.is_dir() else []
    for i in range(7):
        if len(files) == 7:
            shutil.copy(files[i], tmp_path / files[i].name)
        else:
            (tmp_path / f"article{1000 + i}.txt").write_text(
                f"Headline {i}\n\nThe terrorists must wisen up, the minister said.\n", encoding="utf-8")


def test_done_when_directory_with_empty_and_binary_files(fake_detector, tmp_path):
    _seven_articles(tmp_path)
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "binary.txt").write_bytes(bytes(range(256)) * 8)
    r = run("analyze", tmp_path, "--format", "jsonl")
    assert r.exit_code == 1
    lines = r.stdout.splitlines()
    assert len(lines) == 7 and all(json.loads(x)["schema_version"] == "1.1" for x in lines)
    errors = _error_lines(r)
    assert len(errors) == 2
    assert any("empty.txt: empty file" in e for e in errors)
    assert any("binary.txt: binary file, not text" in e for e in errors)
    assert "7 articles analysed" in r.stderr and "2 inputs failed" in r.stderr


def test_missing_file_is_an_error_line_and_exit_1(fake_detector, tmp_path):
    r = run("analyze", SAMPLE_PATH, tmp_path / "nope.txt", "-f", "jsonl")
    assert r.exit_code == 1 and len(r.stdout.splitlines()) == 1
    assert _error_lines(r) == [f"error: {tmp_path / 'nope.txt'}: no such file or directory"]


def test_no_model_installed_is_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("PROPSCOPE_MODEL", str(tmp_path))
    r = run("analyze", SAMPLE_PATH)
    assert r.exit_code == 1
    (line,) = _error_lines(r)
    assert line.startswith("error: no propscope model is installed")
    r = run("analyze", SAMPLE_PATH, "--model", tmp_path / "missing")
    assert r.exit_code == 1 and "no propscope model is installed" in r.stderr


@pytest.mark.parametrize("args", [[], ["--format", "xml", "x.txt"], ["--bogus", "x.txt"]])
def test_usage_errors_exit_2(args):
    assert run("analyze", *args).exit_code == 2


def test_techniques_lists_all_fourteen():
    r = run("techniques")
    assert r.exit_code == 0 and "Flag-Waving" in r.stdout and "Repetition" in r.stdout


def test_other_encodings_are_decoded_and_analysed(fake_detector, tmp_path):
    text = "Café terrorists\n\nThe terrorists in the café must wisen up, the minister déclaré.\n"
    (tmp_path / "article1.txt").write_bytes(text.encode("latin-1"))
    (tmp_path / "article2.txt").write_bytes(text.encode("utf-16"))
    (tmp_path / "article3.txt").write_bytes(text.encode("utf-8").replace(b"minister", b"mini\x00ster"))
    r = run("analyze", tmp_path, "-f", "jsonl")
    assert r.exit_code == 0, r.output
    analyses = [json.loads(x) for x in r.stdout.splitlines()]
    assert [a["article"]["text"] for a in analyses] == [text] * 3
    assert analyses[2]["article"]["cleaning"]["removed"][0]["reason"] == "NUL characters"
    assert all(a["counts"]["Name_Calling,Labeling"] == 2 for a in analyses)


def test_unwritable_output_is_a_usage_error(fake_detector, tmp_path):
    r = run("analyze", SAMPLE_PATH, "-o", tmp_path / "no" / "such" / "dir.json")
    assert r.exit_code == 2 and "cannot write" in r.output


@pytest.mark.parametrize("bad, kept", [(3, [i for i in range(20) if i != 3]),
                                       (17, [i for i in range(20) if i != 17])])
def test_one_failing_batch_loses_none_of_the_other_batches(fake_detector, tmp_path, monkeypatch, bad, kept):
    # 20 articles go to the detector in batches of 16 and 4; the batch holding article `bad` fails, then its
    # articles are tried one by one, so only the bad article is lost
    for i in range(20):
        word = "BOOM" if i == bad else "fine"
        (tmp_path / f"article{100 + i}.txt").write_text(f"Title {i}\n\nThe terrorists wisen up, {word}.",
                                                        encoding="utf-8")
    real = fake_detector.detect

    def detect(texts):
        if any("BOOM" in t for t in texts):
            raise RuntimeError("model exploded")
        return real(texts)

    monkeypatch.setattr(fake_detector, "detect", detect)
    out = tmp_path / "out.jsonl"
    r = run("analyze", tmp_path, "-o", out)
    assert r.exit_code == 1
    written = [json.loads(x)["article"]["id"] for x in out.read_text(encoding="utf-8").splitlines()]
    assert written == [str(100 + i) for i in kept]
    failed = {str(100 + i) for i in range(20)} - set(written)
    errors = _error_lines(r)
    assert len(errors) == len(failed) and all("model exploded" in e for e in errors)
    assert {next(a for a in failed if f"article{a}.txt" in e) for e in errors} == failed
    assert f"{len(kept)} articles analysed" in r.stderr and "1 input failed" in r.stderr
