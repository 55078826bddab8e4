"""The frozen lower layers' outputs for every training window, computed once and kept on disk in fp16."""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch

from .data import WindowExample
from .model import PropagandaModel


def _weights_stamp(base: Path) -> str | None:
    """Size and modification time of the encoder's weights file (None without one)."""
    weights = base / "model.safetensors"
    if not weights.is_file():
        return None
    st = weights.stat()
    return f"{st.st_size}|{st.st_mtime_ns}"


def cache_key(base: Path, k: int, examples: Sequence[WindowExample]) -> str:
    """Names the cache: the encoder's weights file, K and every window's ids."""
    h = hashlib.sha256(f"{base.resolve()}|{k}|{len(examples)}".encode())
    stamp = _weights_stamp(base)
    if stamp:
        h.update(stamp.encode())
    for x in examples:
        h.update(x.ids.tobytes())
        h.update(b"|")
    return h.hexdigest()[:16]


def window_keys(base: Path, k: int, examples: Sequence[WindowExample]) -> np.ndarray:
    """One 16-byte key per window (the encoder, K and the window's ids): rows of another cache in the same
    folder whose key matches are that window's states, so runs over other folds reuse them."""
    stamp = _weights_stamp(base)
    prefix = (f"{base.resolve()}|{stamp}|{k}|" if stamp else f"{base.resolve()}|{k}|").encode()
    keys = np.zeros((len(examples), 16), dtype=np.uint8)
    for i, x in enumerate(examples):
        keys[i] = np.frombuffer(hashlib.blake2b(prefix + x.ids.tobytes(), digest_size=16).digest(), np.uint8)
    return keys


def _index_path(path: Path) -> Path:
    return path.with_name(path.name.removesuffix(".npy") + ".windows.npy")


def _reusable(folder: Path, skip: Path) -> dict[bytes, tuple[np.ndarray, int, int]]:
    """Window key -> (states array, first row, end row) over the indexed caches in ``folder``."""
    found: dict[bytes, tuple[np.ndarray, int, int]] = {}
    for index in sorted(folder.glob("lower-*.windows.npy")):
        data = index.with_name(index.name.removesuffix(".windows.npy") + ".npy")
        if data == skip or not data.is_file():
            continue
        try:
            saved = np.load(index, allow_pickle=False)
            keys, offsets = saved[:, :16], saved[:, 16:].copy().view(np.int64).ravel()
            states = np.load(data, mmap_mode="r")
        except (OSError, ValueError):
            continue  # a damaged or foreign file: compute those windows instead
        if len(offsets) != len(keys) or (len(offsets) and offsets[-1] != states.shape[0]):
            continue
        starts = np.concatenate([[0], offsets[:-1]])
        for key, a, b in zip(keys, starts, offsets, strict=True):
            found.setdefault(key.tobytes(), (states, int(a), int(b)))
    return found


def _write_index(path: Path, keys: np.ndarray, offsets: np.ndarray) -> None:
    """Beside the cache: each window's key and its end row (int64 as 8 bytes), for reuse by other runs."""
    ends = np.ascontiguousarray(offsets[1:], dtype=np.int64).view(np.uint8).reshape(-1, 8)
    tmp = path.with_suffix(f".{os.getpid()}.tmp.npy")
    np.save(tmp, np.concatenate([keys, ends], axis=1))
    os.replace(tmp, _index_path(path))


class LowerCache:
    """Row ``offsets[i]:offsets[i+1]`` of one fp16 (positions, hidden) array holds window i's states."""

    def __init__(self, path: Path, offsets: np.ndarray) -> None:
        self.states = np.load(path, mmap_mode="r")
        self.offsets = offsets

    @classmethod
    def build(cls, model: PropagandaModel, k: int, examples: Sequence[WindowExample], folder: Path,
              key: str, device: torch.device, batch_size: int = 32,
              log: Callable[[str], None] = print, base: Path | None = None) -> LowerCache:
        """Open the cache in ``folder`` named ``key``, computing it first when it is not there: windows
        that another indexed cache in ``folder`` holds (same encoder ``base``, K and ids) are copied."""
        lens = np.array([len(x.ids) for x in examples], dtype=np.int64)
        offsets = np.concatenate([[0], np.cumsum(lens)])
        path = Path(folder) / f"lower-{key}.npy"
        base = Path(base if base is not None else model.encoder.name_or_path)
        if path.is_file():
            cache = cls(path, offsets)
            if cache.states.shape[0] == offsets[-1]:
                log(f"lower layers: cached outputs read from {path}")
                if not _index_path(path).is_file():
                    _write_index(path, window_keys(base, k, examples), offsets)
                return cache
        keys = window_keys(base, k, examples)
        Path(folder).mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp.npy")
        d = model.encoder.config.hidden_size
        out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float16, shape=(int(offsets[-1]), d))
        reuse = _reusable(Path(folder), path)
        todo = []
        for i in range(len(examples)):
            hit = reuse.get(keys[i].tobytes())
            if hit is not None and hit[2] - hit[1] == lens[i] and hit[0].shape[1] == d:
                out[offsets[i] : offsets[i + 1]] = hit[0][hit[1] : hit[2]]
            else:
                todo.append(i)
        if len(todo) < len(examples):
            log(f"lower layers: {len(examples) - len(todo)} of {len(examples)} windows copied from the "
                f"caches in {folder}")
        order = sorted(todo, key=lambda i: lens[i])
        t0 = time.time()
        was_training = model.training
        model.eval()
        with torch.inference_mode():
            for s in range(0, len(order), batch_size):
                idx = order[s : s + batch_size]
                width = int(lens[idx].max())
                ids = torch.zeros((len(idx), width), dtype=torch.long)
                mask = torch.zeros_like(ids)
                for r, i in enumerate(idx):
                    ids[r, : lens[i]] = torch.from_numpy(examples[i].ids)
                    mask[r, : lens[i]] = 1
                h = model.lower(ids.to(device), mask.to(device), k).to(torch.float16).cpu().numpy()
                for r, i in enumerate(idx):
                    out[offsets[i] : offsets[i + 1]] = h[r, : lens[i]]
        model.train(was_training)
        out.flush()
        del out
        os.replace(tmp, path)
        _write_index(path, keys, offsets)
        log(f"lower layers: {offsets[-1]} positions x {d} cached in {path} "
            f"({path.stat().st_size / 2**20:.0f} MiB, {time.time() - t0:.0f} s)")
        return cls(path, offsets)

    def batch(self, idx: Sequence[int], width: int) -> torch.Tensor:
        """(len(idx), width, hidden) float32 states of the windows ``idx``, zero-padded."""
        out = torch.zeros((len(idx), width, self.states.shape[1]), dtype=torch.float32)
        for r, i in enumerate(idx):
            a, b = self.offsets[i], self.offsets[i + 1]
            out[r, : b - a] = torch.from_numpy(np.asarray(self.states[a:b], dtype=np.float32))
        return out
