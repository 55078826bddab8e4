"""The shipped model and the model commands: predict (SI/TC), evaluate, benchmark."""

import json
import shutil
from pathlib import Path

import pytest
from conftest import require
from typer.testing import CliRunner

import propscope
from propscope.cli import _register, app
from propscope.detect.base import DEFAULT_MODEL_DIR, bundled_models, load_detector, resolve_model
from propscope.errors import ModelNotInstalledError
from propscope.techniques import TECHNIQUES

SAMPLE = Path(__file__).resolve().parents[1] / "examples" / "idlib-truce.txt"
LOADED = Path(__file__).resolve().parent / "data" / "loaded-language.txt"
require((DEFAULT_MODEL_DIR / "config.json").is_file(), "no model shipped in src/propscope/models/default")
_register()
runner = CliRunner()


SHIPPED = ["default", "fast"]


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_model_is_small_and_complete(name):
    folder = resolve_model(name)
    assert folder.parent == DEFAULT_MODEL_DIR.parent
    files = {p.name: p.stat().st_size for p in folder.iterdir()}
    for fname in ("config.json", "encoder.onnx", "heads.npz", "lexical.npz", "tokenizer.json",
                  "MODEL_CARD.md"):
        assert fname in files
    assert sum(files.values()) <= 30 * 1024 * 1024
    meta = json.loads((folder / "config.json").read_text())
    assert meta["quantized"] is True and meta["decode"]["techniques"] == list(TECHNIQUES)


def test_model_names_resolve_to_shipped_folders_unless_a_folder_has_that_name(tmp_path, monkeypatch):
    assert bundled_models() == SHIPPED
    assert resolve_model(None) == DEFAULT_MODEL_DIR
    monkeypatch.setenv("PROPSCOPE_MODEL", "fast")
    assert resolve_model(None) == DEFAULT_MODEL_DIR.parent / "fast"
    monkeypatch.chdir(tmp_path)
    (tmp_path / "fast").mkdir()  # a folder here named like a shipped model is what the user means
    assert resolve_model("fast") == Path("fast")
    with pytest.raises(ModelNotInstalledError, match="default, fast"):
        load_detector("nosuchmodel")
    r = runner.invoke(app, ["evaluate", "--data", str(tmp_path), "--model", "nosuchmodel"])
    assert r.exit_code != 0


def test_fast_model_finds_valid_sorted_spans_that_overlap_the_gold_ones(ptc_root):
    from propscope.ptc import load_split

    doc = max(load_split(ptc_root / "dev")[:10], key=lambda d: len(d.si))  # one with many gold spans
    preds = load_detector("fast").detect([doc.text])[0]
    assert preds, "an article with many gold spans should give the fast model some"
    assert preds == sorted(preds, key=lambda p: (p.start, p.end, p.technique))
    assert all(0 <= p.start < p.end <= len(doc.text) and 0 <= p.confidence <= 1 for p in preds)
    assert all(p.technique in TECHNIQUES for p in preds)
    assert any(p.start < e and s < p.end for p in preds for s, e in doc.si)


@pytest.mark.parametrize("path", [SAMPLE, LOADED], ids=["sample", "loaded"])
def test_shipped_model_gives_valid_sorted_spans(path):
    analysis = propscope.analyze(path)
    text = analysis.article.text
    if path == LOADED:  # written for the tests, heavy with name calling and loaded language
        assert analysis.spans, "the shipped model should find spans in tests/data/loaded-language.txt"
    keys = [(s.start, s.end, s.technique) for s in analysis.spans]
    assert keys == sorted(keys)
    for s in analysis.spans:
        assert 0 <= s.start < s.end <= len(text)
        assert text[s.start : s.end] == s.text and s.text.strip()
        assert 0.0 <= s.confidence <= 1.0 and s.technique in TECHNIQUES
    if path == SAMPLE:
        assert "You might also like" not in text and text.startswith("Putin hopes terrorists")
    assert analysis.model and analysis.model.startswith("propscope-")


@pytest.fixture
def dev3(ptc_root, tmp_path) -> Path:
    src = ptc_root / "dev"
    files = sorted((src / "articles").glob("article*.txt"))[1:4]
    ids = {f.stem[len("article"):] for f in files}
    (tmp_path / "articles").mkdir()
    for f in files:
        shutil.copy(f, tmp_path / "articles" / f.name)
    for name in ("labels-si.tsv", "labels-tc.tsv"):
        rows = [r for r in (src / name).read_text().splitlines() if r.split("\t")[0] in ids]
        (tmp_path / name).write_text("".join(r + "\n" for r in rows))
    return tmp_path


def test_predict_si_writes_id_start_end(dev3, tmp_path):
    out = tmp_path / "si.tsv"
    r = runner.invoke(app, ["predict", "--task", "si", str(dev3 / "articles"), "-o", str(out)])
    assert r.exit_code == 0, r.output
    texts = {p.stem[len("article"):]: p.read_text() for p in (dev3 / "articles").iterdir()}
    rows = [line.split("\t") for line in out.read_text().splitlines()]
    assert rows
    for aid, s, e in rows:
        assert aid in texts and 0 <= int(s) < int(e) <= len(texts[aid])


def test_predict_si_min_confidence_keeps_the_spans_of_labels_from_it_on(dev3, tmp_path):
    from propscope.detect.base import load_detector
    from propscope.ptc import read_articles

    def rows(*extra: str) -> set[tuple[str, int, int]]:
        out = tmp_path / "si.tsv"
        r = runner.invoke(app, ["predict", "--task", "si", str(dev3 / "articles"), "-o", str(out), *extra])
        assert r.exit_code == 0, r.output
        return {(a, int(s), int(e)) for a, s, e in (x.split("\t") for x in out.read_text().splitlines())}

    texts = read_articles(dev3 / "articles")
    preds = {a: load_detector().detect([t])[0] for a, t in texts.items()}
    want = {(a, p.start, p.end) for a, ps in preds.items() for p in ps if p.confidence >= 0.3}
    assert rows() == {(a, p.start, p.end) for a, ps in preds.items() for p in ps}  # the model's default
    assert rows("--min-confidence", "0.3") == want and 0 < len(want) < len(rows())


def test_predict_tc_answers_every_template_row_in_order(dev3, tmp_path):
    template = tmp_path / "template.tsv"
    gold = [line.split("\t") for line in (dev3 / "labels-tc.tsv").read_text().splitlines()]
    template.write_text("".join(f"{a}\t?\t{s}\t{e}\n" for a, _t, s, e in gold))
    out = tmp_path / "tc.tsv"
    r = runner.invoke(app, ["predict", "--task", "tc", str(dev3), "--spans", str(template), "-o", str(out)])
    assert r.exit_code == 0, r.output
    rows = [line.split("\t") for line in out.read_text().splitlines()]
    assert [(a, s, e) for a, _t, s, e in rows] == [(a, s, e) for a, _t, s, e in gold]
    assert all(t in TECHNIQUES for _a, t, _s, _e in rows)
    # rows that share a span get different techniques (the top-k)
    by_span: dict = {}
    for a, t, s, e in rows:
        by_span.setdefault((a, s, e), []).append(t)
    assert all(len(set(v)) == len(v) for v in by_span.values())


def test_predict_tc_needs_a_template(dev3):
    r = runner.invoke(app, ["predict", "--task", "tc", str(dev3)])
    assert r.exit_code == 2 and "--spans" in r.output


def test_evaluate_prints_scores(dev3):
    r = runner.invoke(app, ["evaluate", "--data", str(dev3), "--json"])
    assert r.exit_code == 0, r.output
    res = json.loads(r.stdout)
    assert res["n_articles"] == 3
    for k in ("precision", "recall", "f1"):
        assert 0.0 <= res["si"][k] <= 1.0
    assert 0.0 < res["tc"]["micro_f1"] <= 1.0
    assert set(res["tc"]["per_technique"]) == set(TECHNIQUES)
    sl = res["sentences"]
    assert sl["n_sentences"] > 3 and 0 < sl["n_gold"] <= sl["n_sentences"]
    assert 0.0 <= sl["f1"] <= 1.0 and -1.0 <= res["article_score_spearman"] <= 1.0
    r = runner.invoke(app, ["evaluate", "--data", str(dev3)])
    assert r.exit_code == 0 and "SI  precision" in r.stdout and "TC  micro-F1" in r.stdout
    assert "Sentences  precision" in r.stdout and "Article score  Spearman" in r.stdout


def test_evaluate_rejects_a_folder_without_labels(tmp_path):
    (tmp_path / "articles").mkdir()
    (tmp_path / "articles" / "article1.txt").write_text("T\n\nBody.\n")
    r = runner.invoke(app, ["evaluate", "--data", str(tmp_path)])
    assert r.exit_code == 2 and "labels-si.tsv" in r.output


def test_benchmark_prints_throughput(dev3):
    r = runner.invoke(app, ["benchmark", "--data", str(dev3), "--repeat", "1", "--no-torch", "--no-rss",
                            "--no-reference", "--json"])
    assert r.exit_code == 0, r.output
    res = json.loads(r.stdout)
    assert res["articles"] == 3 and res["onnx_articles_per_s"] > 0
    assert res["encoder_variant"] == "int8 (encoder.onnx)"
    assert "VNNI" in res["cpu"] and "AVX2" in res["cpu"]
    assert "speedup_vs_bert_base" not in res


def test_benchmark_times_the_bert_base_reference(dev3):
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    r = runner.invoke(app, ["benchmark", "--data", str(dev3), "--repeat", "1", "--no-torch", "--no-rss",
                            "--limit", "1", "--json"])
    assert r.exit_code == 0, r.output
    res = json.loads(r.stdout)
    assert res["articles"] == 1 and res["bert_base_fp32_articles_per_s"] > 0
    # --repeat 1: the mean ONNX pass is the only one
    assert res["speedup_vs_bert_base"] == pytest.approx(
        res["bert_base_fp32_seconds"] / res["onnx_seconds"], rel=0.02)  # seconds are rounded to 1 ms


def test_analysis_with_the_shipped_model_never_imports_torch():
    import subprocess
    import sys

    code = ("import sys\nfrom propscope.cli import main\n"
            f"sys.argv = ['propscope', 'analyze', {str(SAMPLE)!r}, '--format', 'json']\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "assert 'torch' not in sys.modules and 'transformers' not in sys.modules, 'torch was imported'\n"
            "print('TORCH-FREE')\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().endswith("TORCH-FREE") and '"spans"' in out


def test_evaluate_set_changes_a_setting_for_the_run_only(dev3):
    off = runner.invoke(app, ["evaluate", "--data", str(dev3), "--json", "--set", "si_threshold=0.99"])
    assert off.exit_code == 0, off.output
    off = json.loads(off.stdout)
    assert off["settings"] == ["si_threshold=0.99"]
    on = json.loads(runner.invoke(app, ["evaluate", "--data", str(dev3), "--json"]).stdout)
    assert off["si"]["n_pred"] < on["si"]["n_pred"]  # almost no token reaches 0.99
    bad = runner.invoke(app, ["evaluate", "--data", str(dev3), "--set", "bogus=1"])
    assert bad.exit_code == 2 and "bogus" in bad.output


def test_detection_leaves_the_callers_blas_threads_as_they_were():
    from threadpoolctl import threadpool_info

    from propscope.detect.base import load_detector

    def blas() -> list[int]:
        return [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]

    before = blas()
    load_detector().detect([SAMPLE.read_text()])
    assert blas() == before
