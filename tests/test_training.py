"""Training end to end on a tiny PTC subset, export to int8 ONNX, and agreement with PyTorch."""

import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import require_module, require_ptc

torch = require_module("torch")
require_module("transformers")


def _subset(src: Path, dst: Path, n: int) -> None:
    (dst / "articles").mkdir(parents=True)
    files = sorted((src / "articles").glob("article*.txt"))[:n]
    ids = {f.name[len("article"):-len(".txt")] for f in files}
    for f in files:
        shutil.copy(f, dst / "articles" / f.name)
    for name in ("labels-si.tsv", "labels-tc.tsv"):
        rows = [r for r in (src / name).read_text().splitlines() if r.split("\t")[0] in ids]
        (dst / name).write_text("".join(r + "\n" for r in rows))


@pytest.fixture(scope="module")
def trained(tmp_path_factory, request):
    ptc = require_ptc()
    from propscope_train.loop import TrainConfig, train

    tmp = tmp_path_factory.mktemp("train")
    _subset(ptc / "train", tmp / "data" / "train", 5)
    _subset(ptc / "dev", tmp / "data" / "dev", 2)
    logs: list[str] = []
    cfg = TrainConfig(data=tmp / "data", out=tmp / "model", epochs=2, batch_size=8,
                      window=126, stride=96, threads=2, average_from=1, log=logs.append)
    result = train(cfg)
    return result, tmp / "model", logs, cfg


def test_training_writes_a_loadable_model(trained):
    result, out, logs, cfg = trained
    for name in ("config.json", "encoder.onnx", "heads.npz", "tokenizer.json", "lexical.npz"):
        assert (out / name).is_file(), name
    assert result.config["decode"]["window"] == 126
    assert len(cfg.history) == 2 and "dev_si_f1" in cfg.history[0]
    assert any("tuned on" in line for line in logs)
    # weights averaged over both epochs were weighed against the last epoch's on the tune fold
    assert any("mean of the last 2 epochs" in line for line in logs)
    assert result.config["weights"] in ("last epoch", "mean of the last 2 epochs")
    assert 0 <= result.config["tuning"]["lexical_weight"] <= 0.5
    from propscope.detect.onnx import OnnxDetector

    det = OnnxDetector(out)
    text = (out.parent / "data/dev/articles").glob("*.txt").__next__().read_text()
    preds = det.detect([text])[0]
    assert all(0 <= p.start < p.end <= len(text) and 0 <= p.confidence <= 1 for p in preds)
    assert preds == sorted(preds, key=lambda p: (p.start, p.end, p.technique))


def test_int8_onnx_agrees_with_pytorch(trained):
    from propscope.detect.onnx import OnnxDetector
    from propscope_train.loop import make_core

    result, out, _, _ = trained
    det = OnnxDetector(out)
    torch_core = make_core(result.model.eval(), result.tokenizer, det.core.config)
    text = ("Title of the piece\n\nThe corrupt elites want you to believe their lies. "
            "Make America great again! Nobody with a brain believes this garbage. ") * 3
    (enc_o, h_o), = det.core.hidden_states([text])
    (enc_t, h_t), = torch_core.hidden_states([text])
    assert (enc_o.ids == enc_t.ids).all()
    cos = (h_o * h_t).sum(1) / (np.linalg.norm(h_o, axis=1) * np.linalg.norm(h_t, axis=1))
    assert cos.mean() > 0.98 and cos.min() > 0.9
    spans = [(0, 18), (20, 31), (64, 89)]
    p_o = det.core.span_probs(text, enc_o, h_o, spans)
    p_t = torch_core.span_probs(text, enc_t, h_t, spans)
    assert np.abs(p_o - p_t).max() < 0.1
    si_o = det.core.heads.si_logits(h_o).argmax(1)
    si_t = torch_core.heads.si_logits(h_t).argmax(1)
    assert (si_o == si_t).mean() > 0.9


def test_pytorch_rebuilt_from_onnx_matches_trained_model(trained):
    from propscope_train.from_onnx import torch_encoder_from_onnx

    result, out, _, _ = trained
    rebuilt = torch_encoder_from_onnx(out)
    ids = torch.tensor([[101, 7592, 2088, 2003, 1037, 3231, 102]])
    mask = torch.ones_like(ids)
    with torch.inference_mode():
        a = rebuilt(input_ids=ids, attention_mask=mask).last_hidden_state
        b = result.model.eval().hidden(ids, mask)
    cos = torch.nn.functional.cosine_similarity(a, b, dim=-1)
    assert cos.min() > 0.95


def test_results_do_not_depend_on_other_articles_in_the_call(trained):
    from propscope.detect.onnx import OnnxDetector

    _, out, _, _ = trained
    det = OnnxDetector(out)
    short = "A short title\n\nOnly a line of text about the corrupt and evil elites."
    long = "Another title\n\n" + "The economy grew by two percent this year, officials said. " * 12
    (_, alone), = det.core.hidden_states([short])
    (_, batched), _ = det.core.hidden_states([short, long])
    assert np.array_equal(alone, batched)  # an article's result never depends on the other articles
    assert det.detect([short])[0] == det.detect([long, short])[1]


def test_retuning_a_tuned_model_gives_the_same_settings(trained, tmp_path):
    """Tuning fits the temperature on the encoder head alone, so settings already in the model (lexical
    weight, Repetition prior) do not leak into it: tuning twice is stable."""
    from propscope.tune import retune_model

    _, out, _, _ = trained
    model = tmp_path / "model"
    shutil.copytree(out, model)
    data = out.parent / "data"
    first = retune_model(model, data, log=lambda _m: None)
    second = retune_model(model, data, log=lambda _m: None)
    assert first == second


def _as_fold(src: Path, dst: Path, fold: int, **changes) -> Path:
    """A copy of the model folder ``src`` recorded as trained with ``fold`` held out (same weights: for
    checking how cross-fitted folds are pooled, not what they score)."""
    import json

    from propscope.ptc import load_split
    from propscope.tune import split_train

    shutil.copytree(src, dst)
    meta = json.loads((dst / "config.json").read_text())
    tr = meta["training"]
    tr.update(fold=fold, **changes)
    tune, _ = split_train(load_split(Path(tr["data"]) / "train"), tr["seed"], tr["tune_fraction"], fold=fold)
    meta["tune_ids"] = sorted(d.id for d in tune)
    (dst / "config.json").write_text(json.dumps(meta))
    return dst


def test_cross_fitted_folds_tune_and_calibrate_on_all_their_held_out_articles(trained, tmp_path):
    """Tuning and calibrating with a --fold-model are those of one model on both folds' articles; a model
    trained another way, or one holding out the same fold, is refused."""
    import json

    from propscope.calibrate import calibrate_core, calibrate_model
    from propscope.detect.onnx import OnnxDetector
    from propscope.tune import held_out_fold, retune_model, tune_decoding

    _, out, _, _ = trained
    model = tmp_path / "model"
    shutil.copytree(out, model)
    other = _as_fold(out, tmp_path / "fold1", 1)
    data = out.parent / "data"
    meta = json.loads((model / "config.json").read_text())
    docs = held_out_fold(meta, data, model) + held_out_fold(json.loads((other / "config.json").read_text()),
                                                            data, other)
    assert len({d.id for d in docs}) == 2
    alone = OnnxDetector(model).core
    expect = tune_decoding(alone, docs, log=lambda _m: None)
    got = retune_model(model, data, log=lambda _m: None, folds=[other])
    assert got.pop("fold_models") == [{"model": str(other), "fold": 1, "articles": 1}]
    assert got == expect and got["tune_articles"] == 2
    assert json.loads((model / "config.json").read_text())["decode"] == alone.config.to_dict()

    record = calibrate_model(model, data, log=lambda _m: None, strict=False, folds=[other])
    expect = calibrate_core(OnnxDetector(model).core, docs, log=lambda _m: None)
    if expect:  # two tiny folds may hold labels that are all wrong: then neither calibrates
        assert record["fold_models"][0]["fold"] == 1 and "cross-fitted" in record["definition"]
        assert (record["slope"], record["intercept"], record["tune_labels"]) == (
            expect["slope"], expect["intercept"], expect["tune_labels"])
    else:
        assert record == {}

    with pytest.raises(ValueError, match="lr differ"):
        retune_model(model, data, log=lambda _m: None, folds=[_as_fold(out, tmp_path / "f2", 2, lr=1.0)])
    with pytest.raises(ValueError, match="overlaps"):
        retune_model(model, data, log=lambda _m: None, folds=[other, _as_fold(out, tmp_path / "f1b", 1)])
    with pytest.raises(ValueError, match="not a model folder"):
        calibrate_model(model, data, log=lambda _m: None, folds=[tmp_path])


def test_train_refuses_a_fold_that_does_not_exist(trained, tmp_path):
    from typer.testing import CliRunner

    from propscope.cli import _register, app

    _register()
    _, out, _, _ = trained
    r = CliRunner().invoke(app, ["train", "--data", str(out.parent / "data"), "--out", str(tmp_path / "m"),
                                 "--fold", "5", "--epochs", "1", "--no-export"])
    assert r.exit_code == 2 and "--fold: fold 5 does not exist" in r.output and "folds 0 to 4" in r.output
    assert not (tmp_path / "m").exists()
