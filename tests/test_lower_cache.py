"""The lower-layer cache: windows that another run's cache in the same folder holds are copied, not rerun."""

from types import SimpleNamespace

import numpy as np
from conftest import require_module

torch = require_module("torch")

from propscope_train.data import WindowExample  # noqa: E402
from propscope_train.lower_cache import LowerCache, cache_key  # noqa: E402


class CountingLower:
    """Stands in for the encoder's lower layers: states are a function of the ids; counts windows run."""

    def __init__(self, hidden: int = 4) -> None:
        self.encoder = SimpleNamespace(config=SimpleNamespace(hidden_size=hidden))
        self.training = False
        self.rows: list[list[int]] = []

    def eval(self) -> None:
        pass

    def train(self, mode: bool = True) -> None:
        pass

    def lower(self, ids, mask, k):
        self.rows += [r[m.bool()].tolist() for r, m in zip(ids, mask, strict=True)]
        pos = torch.arange(ids.shape[1], dtype=torch.float32)[None, :, None]
        return ids[..., None].float() * 10 + pos + torch.arange(4, dtype=torch.float32) * 0.5 + k


def _windows(*rows: list[int]) -> list[WindowExample]:
    return [WindowExample(np.array(r, dtype=np.int64), np.zeros(len(r), dtype=np.int64), []) for r in rows]


def _build(model, examples, folder, base, k=1) -> LowerCache:
    return LowerCache.build(model, k, examples, folder, cache_key(base, k, examples), torch.device("cpu"),
                            log=lambda m: None, base=base)


def test_windows_held_by_another_runs_cache_are_copied_and_the_rest_computed(tmp_path):
    base, folder = tmp_path / "enc", tmp_path / "cache"
    base.mkdir()
    first = CountingLower()
    a = _build(first, _windows([1, 2, 3], [4, 5], [6, 7, 8, 9]), folder, base)
    assert len(first.rows) == 3
    other = _windows([4, 5], [6, 7, 8, 9], [11, 12, 13])  # another fold: two windows shared, one new
    second = CountingLower()
    b = _build(second, other, folder, base)
    assert second.rows == [[11, 12, 13]]
    fresh = CountingLower()
    expect = _build(fresh, other, tmp_path / "alone", base)  # the same windows, all computed
    assert len(fresh.rows) == 3
    np.testing.assert_array_equal(b.batch([0, 1, 2], 4).numpy(), expect.batch([0, 1, 2], 4).numpy())
    np.testing.assert_array_equal(b.batch([0], 2).numpy(), a.batch([1], 2).numpy())
    assert len(list(folder.glob("lower-*.windows.npy"))) == 2


def test_another_encoder_or_k_or_a_damaged_index_reuses_nothing(tmp_path):
    base, folder = tmp_path / "enc", tmp_path / "cache"
    base.mkdir()
    ex = _windows([1, 2, 3], [4, 5])
    _build(CountingLower(), ex, folder, base)
    again = CountingLower()
    _build(again, ex + _windows([9]), folder, base, k=2)  # other K: other states
    assert len(again.rows) == 3
    other = tmp_path / "other-enc"
    other.mkdir()
    again = CountingLower()
    _build(again, ex + _windows([8]), folder, other)
    assert len(again.rows) == 3
    for index in folder.glob("lower-*.windows.npy"):
        index.write_bytes(b"not an index")
    again = CountingLower()
    _build(again, ex + _windows([7]), folder, base)
    assert len(again.rows) == 3


def test_an_existing_cache_gets_its_index_when_read(tmp_path):
    base, folder = tmp_path / "enc", tmp_path / "cache"
    base.mkdir()
    ex = _windows([1, 2, 3], [4, 5])
    _build(CountingLower(), ex, folder, base)
    for index in folder.glob("lower-*.windows.npy"):
        index.unlink()  # as a cache written before indexes existed
    reader = CountingLower()
    _build(reader, ex, folder, base)
    assert reader.rows == [] and len(list(folder.glob("lower-*.windows.npy"))) == 1
    again = CountingLower()
    _build(again, ex[1:] + _windows([6, 6]), folder, base)
    assert again.rows == [[6, 6]]
