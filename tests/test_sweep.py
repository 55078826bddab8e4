"""Combining runs: logit ensembles as one set of heads, weight soups, distillation targets, frozen embeddings,
model folders rebuilt from checkpoints, and the sweep driver end to end on a tiny subset."""

import json

import numpy as np
import pytest
from conftest import require_module, require_ptc

torch = require_module("torch")
require_module("transformers")

from propscope.detect.core import CONTEXT_RADIUS, Heads, span_vector  # noqa: E402
from propscope_train.ensemble import ensemble_heads, soup_state  # noqa: E402


def _members(k: int, d: int = 8, hid: int = 5, nf: int = 3, t: int = 4, seed: int = 0):
    rng = np.random.default_rng(seed)
    return [{"si_w": rng.normal(size=(d, 3)), "si_b": rng.normal(size=3),
             "tc_w1": rng.normal(size=(4 * d + nf, hid)), "tc_b1": rng.normal(size=hid),
             "tc_w2": rng.normal(size=(hid, t)), "tc_b2": rng.normal(size=t)} for _ in range(k)]


def test_ensemble_heads_give_the_mean_of_the_members_logits():
    members = _members(3)
    rng = np.random.default_rng(1)
    hs = [rng.normal(size=(2 * CONTEXT_RADIUS + 40, 8)).astype(np.float32) for _ in members]
    feats = rng.normal(size=3).astype(np.float32)
    ens = Heads(ensemble_heads(members))
    assert ens.n_features == 3
    h = np.concatenate(hs, -1)
    want_si = np.mean([Heads(m).si_logits(x) for m, x in zip(members, hs, strict=True)], 0)
    np.testing.assert_allclose(ens.si_logits(h), want_si, rtol=1e-4, atol=1e-4)
    for a, b in [(0, 1), (3, 9), (150, 290)]:  # spans near the start, and one whose context is cut
        want = np.mean([Heads(m).tc_logits(span_vector(x, a, b, feats)[None])
                        for m, x in zip(members, hs, strict=True)], 0)
        got = ens.tc_logits(span_vector(h, a, b, feats)[None])
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


def test_soup_is_the_mean_of_the_floating_point_weights(tmp_path):
    paths = []
    for k, v in enumerate([1.0, 2.0, 6.0]):
        path = tmp_path / f"m{k}.pt"
        torch.save({"w": torch.full((2, 2), v), "ids": torch.arange(3) + k}, path)
        paths.append(path)
    soup = soup_state(paths)
    assert torch.allclose(soup["w"], torch.full((2, 2), 3.0))
    assert soup["ids"].tolist() == [0, 1, 2]  # integer buffers are copied from the first, not averaged
    with pytest.raises(ValueError):
        soup_state([])


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from test_training import _subset

    ptc = require_ptc()
    root = tmp_path_factory.mktemp("sweep")
    _subset(ptc / "train", root / "data" / "train", 6)
    _subset(ptc / "dev", root / "data" / "dev", 1)
    return root


def test_distilled_student_with_frozen_embeddings_becomes_a_model_folder(tiny, tmp_path):
    from propscope.detect.onnx import OnnxDetector
    from propscope.ptc import load_split
    from propscope.techniques import TECHNIQUES
    from propscope_train.data import build_examples
    from propscope_train.from_checkpoint import build
    from propscope_train.loop import (
        FROZEN_KEY,
        TrainConfig,
        _collate,
        default_base_model,
        load_checkpoint,
        load_tokenizer,
        span_inputs,
        special_ids,
        teach,
        train,
    )
    from propscope_train.model import PropagandaModel

    common = dict(data=tiny / "data", epochs=1, max_steps=2, batch_size=4, window=62, stride=48, threads=2,
                  average_from=None, lexical=False, export=False, eval_epochs=False, split_seed=3,
                  init_seed=3, device="cpu")
    teacher = tmp_path / "teacher.pt"
    train(TrainConfig(out=tmp_path / "t", seed=1, layers=2, checkpoint=teacher, **common))
    logs: list[str] = []
    student = tmp_path / "student.pt"
    train(TrainConfig(out=tmp_path / "s", seed=2, layers=1, teachers=[teacher], distill_weight=1.0,
                      freeze_embeddings=True, checkpoint=student, log=logs.append, **common))
    assert any("SI targets: 1 x the mean of 1 teachers" in line for line in logs)
    run = json.loads((tmp_path / "s" / "run.json").read_text())
    assert run["tune_ids"] and run["training"]["teachers"] == [str(teacher)]

    base = default_base_model()
    state = torch.load(student, weights_only=True)
    assert FROZEN_KEY not in state  # frozen embeddings are the base model's: not saved
    model = load_checkpoint(student, base, torch.device("cpu"))
    assert model.encoder.config.num_hidden_layers == 1
    assert torch.equal(model.encoder.embeddings.word_embeddings.weight,
                       PropagandaModel(base, layers=1).encoder.embeddings.word_embeddings.weight)

    # the distillation target: the teacher's probabilities (weight 1), or the gold labels (weight 0)
    tok = load_tokenizer(base)
    docs = load_split(tiny / "data" / "train")[:2]
    examples, _ = build_examples(docs, tok, TECHNIQUES, window=62, stride=48, special_ids=special_ids(tok))
    teach(examples, [teacher], base, torch.device("cpu"), 0.0)
    x = examples[0]
    assert np.array_equal(x.soft, np.eye(3, dtype=np.float32)[np.clip(x.labels, 0, None)])
    teach(examples, [teacher], base, torch.device("cpu"), 1.0)
    np.testing.assert_allclose(x.soft.sum(1), 1.0, rtol=1e-5)
    assert 0 < x.soft.max(1).min() < 1  # soft, not one-hot

    # the technique targets: gold at weight 0; at weight 1 the teacher's softmax(span logits / temperature)
    spans = [s for x in examples for s in x.spans]
    gold = [s.target.copy() for s in spans]
    teach(examples, [teacher], base, torch.device("cpu"), 0.5, tc_weight=0.0)
    assert all(np.array_equal(s.target, g) for s, g in zip(spans, gold, strict=True))
    teach(examples, [teacher], base, torch.device("cpu"), 0.5, tc_weight=1.0, temperature=2.0)
    tm = load_checkpoint(teacher, base, torch.device("cpu"))
    x = next(x for x in examples if x.spans)
    ids, mask, _, _ = _collate([x])
    with torch.inference_mode():
        logits = tm.span_logits(tm.hidden(ids, mask), span_inputs([x], torch.device("cpu")))
    want = torch.softmax(logits / 2.0, -1).numpy()
    np.testing.assert_allclose(np.stack([s.target for s in x.spans]), want, atol=1e-5)
    assert not np.array_equal(x.spans[0].target, gold[spans.index(x.spans[0])])

    tuning = build(student, tiny / "data", tmp_path / "model", split_seed=3, window=62, stride=48,
                   lexical=True)
    assert "tune_si_f1" in tuning
    det = OnnxDetector(tmp_path / "model")
    assert det.core.config.window == 62 and det.core.lexical is not None
    text = docs[0].text
    preds = det.detect([text])[0]
    assert all(0 <= p.start < p.end <= len(text) for p in preds)


def test_sweep_trains_combines_distils_and_keeps_the_best(tiny, tmp_path, capsys):
    from propscope_train.loop import default_base_model, load_checkpoint
    from propscope_train.sweep import _parse_seeds, _parse_variants, main

    assert _parse_seeds("3-5,9") == [3, 4, 5, 9]
    assert _parse_variants("a:lr=2e-4,layers=2;b:freeze_embeddings=true") == [
        ("a_", {"lr": 2e-4, "layers": 2}), ("b_", {"freeze_embeddings": True})]
    with pytest.raises(SystemExit, match="not a training setting"):
        _parse_variants("a:nonsense=1")

    work, keep = tmp_path / "work", tmp_path / "keep"
    main(["--data", str(tiny / "data"), "--work", str(work), "--seeds", "1-2", "--max-steps", "1",
          "--window", "62", "--stride", "48", "--students", "l1:layers=1,freeze_embeddings=true",
          "--student-seeds", "5-6", "--keep-depths", "1,6", "--parallel", "2", "--threads", "1",
          "--keep", str(keep)])
    out = capsys.readouterr().out
    summary = json.loads((keep / "summary.json").read_text())
    for name in ("s1", "s2", "soup", "ensemble", "student_l1_s5", "student_l1_s6", "student_l1_soup"):
        assert name in summary and 0 <= summary[name]["dev_si_f1"] <= 1, name
        assert name in out
    assert summary["student_l1_soup"]["layers"] == 1
    assert set(summary["kept"]) == {"1", "6"}
    parts = sorted(keep.glob("best_l1.pt.part*"))
    (tmp_path / "l1.pt").write_bytes(b"".join(p.read_bytes() for p in parts))
    model = load_checkpoint(tmp_path / "l1.pt", default_base_model(), torch.device("cpu"))
    assert model.encoder.config.num_hidden_layers == 1
    assert sorted(keep.glob("best_l6.pt.part*"))


def test_train_command_passes_the_new_options_through(tiny, tmp_path):
    from typer.testing import CliRunner

    from propscope.cli import _register, app
    from propscope_train.loop import FROZEN_KEY

    _register()
    out, ckpt = tmp_path / "model", tmp_path / "m.pt"
    r = CliRunner().invoke(app, [
        "train", "--data", str(tiny / "data"), "--out", str(out), "--epochs", "1", "--max-steps", "1",
        "--layers", "1", "--window", "62", "--stride", "48", "--freeze-embeddings", "--split-seed", "3",
        "--no-lexical", "--device", "cpu", "--threads", "2", "--checkpoint", str(ckpt)])
    assert r.exit_code == 0, r.output
    meta = json.loads((out / "config.json").read_text())
    tr = meta["training"]
    assert (tr["layers"], tr["window"], tr["split_seed"], tr["freeze_embeddings"]) == (1, 62, 3, True)
    assert meta["decode"]["window"] == 62 and meta["encoder_config"]["num_hidden_layers"] == 1
    assert FROZEN_KEY not in torch.load(ckpt, weights_only=True)
    r = CliRunner().invoke(app, ["train", "--data", str(tiny / "data"), "--out", str(tmp_path / "x"),
                                 "--teacher", str(tmp_path / "missing.pt"), "--max-steps", "1"])
    assert r.exit_code == 2 and "missing.pt: no such teacher checkpoint" in r.output


def test_train_command_passes_the_distillation_options_through(tiny, tmp_path):
    from typer.testing import CliRunner

    from propscope.cli import _register, app

    _register()
    common = ["train", "--data", str(tiny / "data"), "--epochs", "1", "--max-steps", "1", "--layers", "1",
              "--window", "62", "--stride", "48", "--split-seed", "3", "--no-lexical", "--device", "cpu",
              "--threads", "2", "--no-export", "--no-evaluate-epochs"]
    ckpt = tmp_path / "t.pt"
    r = CliRunner().invoke(app, [*common, "--out", str(tmp_path / "t"), "--checkpoint", str(ckpt)])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(app, [*common, "--out", str(tmp_path / "s"), "--teacher", str(ckpt),
                                 "--distill-weight", "0.5", "--distill-tc-weight", "0.7",
                                 "--distill-temperature", "2"])
    assert r.exit_code == 0, r.output
    assert "TC targets: 0.7 x the teachers' technique probabilities (temperature 2)" in r.output
    tr = json.loads((tmp_path / "s" / "run.json").read_text())["training"]
    assert (tr["distill_tc_weight"], tr["distill_temperature"]) == (0.7, 2.0)
    for bad, why in ((["--distill-tc-weight", "1.5"], "shares"), (["--distill-temperature", "0"], "above 0")):
        r = CliRunner().invoke(app, [*common, "--out", str(tmp_path / "x"), "--teacher", str(ckpt), *bad])
        assert r.exit_code == 2 and why in r.output
