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


def cache_key(base: Path, k: int, examples: Sequence[WindowExample]) -> str:
    """Names the cache: the encoder's weights file, K and every window's ids."""
    h = hashlib.sha256(f"{base.resolve()}|{k}|{len(examples)}".encode())
    weights = base / "model.safetensors"
    if weights.is_file():
        st = weights.stat()
        h.update(f"{st.st_size}|{st.st_mtime_ns}".encode())
    for x in examples:
        h.update(x.ids.tobytes())
        h.update(b"|")
    return h.hexdigest()[:16]


class LowerCache:
    """Row ``offsets[i]:offsets[i+1]`` of one fp16 (positions, hidden) array holds window i's states."""

    def __init__(self, path: Path, offsets: np.ndarray) -> None:
        self.states = np.load(path, mmap_mode="r")
        self.offsets = offsets

    @classmethod
    def build(cls, model: PropagandaModel, k: int, examples: Sequence[WindowExample], folder: Path,
              key: str, device: torch.device, batch_size: int = 32,
              log: Callable[[str], None] = print) -> LowerCache:
        """Open the cache in ``folder`` named ``key``, computing it first when it is not there."""
        lens = np.array([len(x.ids) for x in examples], dtype=np.int64)
        offsets = np.concatenate([[0], np.cumsum(lens)])
        path = Path(folder) / f"lower-{key}.npy"
        if path.is_file():
            cache = cls(path, offsets)
            if cache.states.shape[0] == offsets[-1]:
                log(f"lower layers: cached outputs read from {path}")
                return cache
        Path(folder).mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp.npy")
        d = model.encoder.config.hidden_size
        out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float16, shape=(int(offsets[-1]), d))
        order = sorted(range(len(examples)), key=lambda i: lens[i])
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
