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
