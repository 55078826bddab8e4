"""The CPU recipe for big encoders: frozen lower layers cached once, and runs that stop and resume exactly."""

import pytest
from conftest import require_module, require_ptc
from test_training import _subset

torch = require_module("torch")
require_module("transformers")


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("resume")
    _subset(require_ptc() / "train", tmp / "data" / "train", 2)
    return tmp


def _cfg(tmp, out, **kw):
    from propscope_train.loop import TrainConfig

    return TrainConfig(data=tmp / "data", out=tmp / out, epochs=2, batch_size=4, window=62, stride=48,
                       threads=2, average_from=1, lexical=False, export=False, eval_epochs=False,
                       freeze_layers=4, cache_lower=True, cache_dir=tmp / "cache", max_steps=8,
                       log=lambda m: None, **kw)


def _trained_state(model):
    return {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}


def test_a_stopped_and_resumed_run_ends_with_the_weights_of_an_unbroken_one(data):
    from propscope_train.loop import default_base_model, train
    from propscope_train.model import PropagandaModel

    whole = train(_cfg(data, "whole"))
    assert any((data / "cache").glob("lower-*.npy"))  # the frozen layers' outputs were cached once
    assert whole.config["training"]["freeze_layers"] == 4
    assert [h["step"] for h in whole.config["history"]] == [6, 8]  # 6 steps an epoch, max_steps=8

    first = train(_cfg(data, "broken", stop_after_steps=3))  # in epoch 1: the resumed run replays the order
    assert first.config["stopped_at_step"] == 3
    assert (data / "broken" / "resume.pt").is_file()
    # the frozen part did not move; the upper layers and the heads did
    base = PropagandaModel(default_base_model())
    assert torch.equal(first.model.encoder.encoder.layer[3].output.dense.weight,
                       base.encoder.encoder.layer[3].output.dense.weight)
    assert not torch.equal(first.model.encoder.encoder.layer[4].output.dense.weight,
                           base.encoder.encoder.layer[4].output.dense.weight)

    rest = train(_cfg(data, "broken", resume=True))
    assert [h["step"] for h in rest.config["history"]] == [h["step"] for h in whole.config["history"]]
    a, b = _trained_state(whole.model), _trained_state(rest.model)
    assert a.keys() == b.keys() and len(a) > 10
    for k in a:
        assert torch.allclose(a[k], b[k], atol=1e-6), k


def test_resume_refuses_other_settings_and_a_missing_run(data):
    from propscope_train.loop import train

    train(_cfg(data, "other", stop_after_steps=1))
    with pytest.raises(SystemExit, match="other settings .*lr"):
        train(_cfg(data, "other", resume=True, lr=3e-4))
    with pytest.raises(SystemExit, match="no run to resume"):
        train(_cfg(data, "none", resume=True))


def test_train_command_takes_the_recipe_options(data, tmp_path):
    import json

    from typer.testing import CliRunner

    from propscope.cli import _register, app

    _register()
    out = tmp_path / "model"
    args = ["train", "--data", str(data / "data"), "--out", str(out), "--epochs", "1", "--max-steps", "3",
            "--window", "62", "--stride", "48", "--no-lexical", "--device", "cpu", "--threads", "2",
            "--freeze-layers", "5", "--cache-lower", "--cache-dir", str(tmp_path / "c"),
            "--no-evaluate-epochs"]
    r = CliRunner().invoke(app, [*args, "--stop-after-minutes", "0"])
    assert r.exit_code == 0, r.output
    said = " ".join(r.output.split())  # rich wraps long lines (tmp paths) at any space
    assert "go on with --resume" in said and not (out / "config.json").exists()
    r = CliRunner().invoke(app, [*args, "--resume"])
    assert r.exit_code == 0, r.output
    said = " ".join(r.output.split())
    assert "resumed from" in said and "at step 1" in said
    tr = json.loads((out / "config.json").read_text())["training"]
    assert (tr["freeze_layers"], tr["cache_lower"], tr["resume"]) == (5, True, True)
    r = CliRunner().invoke(app, ["train", "--data", str(data / "data"),
                                 "--base-model", str(tmp_path / "nope")])
    assert r.exit_code != 0 and "nope: not an encoder folder" in r.output
