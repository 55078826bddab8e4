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
