"""Combine several trained models of the same architecture: a weight average ("soup") that costs no more than
one model at run time, or a logit-averaging ensemble expressed as one set of numpy heads over the members'
concatenated hidden states (exact for both heads; used to measure what an ensemble would give and as a
distillation teacher)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from .model import PropagandaModel


def soup_state(paths: Sequence[Path]) -> dict[str, torch.Tensor]:
    """The element-wise mean of the checkpoints' floating-point weights (other tensors from the first)."""
    if not paths:
        raise ValueError("a soup needs at least one checkpoint")
    out: dict[str, torch.Tensor] = {}
    for k, path in enumerate(paths, 1):
        state = torch.load(path, map_location="cpu", weights_only=True)
        for name, v in state.items():
            if name not in out:
                out[name] = v.float().clone() if v.is_floating_point() else v.clone()
            elif v.is_floating_point():
                out[name] += (v.float() - out[name]) / k
    return out


def ensemble_heads(members: Sequence[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Heads over the concatenation of the members' hidden states whose logits are the mean of the members'
    logits. ``span_vector`` lays a span out as [mean, first, last, context] of the concatenated states,
    then the document features, so each member's first technique layer becomes a block of the new one."""
    k = len(members)
    d = members[0]["si_w"].shape[0]
    hid = members[0]["tc_w1"].shape[1]
    nf = members[0]["tc_w1"].shape[0] - 4 * d
    si_w = np.concatenate([m["si_w"] for m in members], 0) / k
    si_b = np.mean([m["si_b"] for m in members], 0)
    w1 = np.zeros((4 * k * d + nf, k * hid), dtype=np.float32)
    for j, m in enumerate(members):
        cols = slice(j * hid, (j + 1) * hid)
        for part in range(4):
            rows = slice(part * k * d + j * d, part * k * d + (j + 1) * d)
            w1[rows, cols] = m["tc_w1"][part * d : (part + 1) * d]
        w1[4 * k * d :, cols] = m["tc_w1"][4 * d :]
    b1 = np.concatenate([m["tc_b1"] for m in members])
    w2 = np.concatenate([m["tc_w2"] for m in members], 0) / k
    b2 = np.mean([m["tc_b2"] for m in members], 0)
    return {"si_w": si_w, "si_b": si_b, "tc_w1": w1, "tc_b1": b1, "tc_w2": w2, "tc_b2": b2}


class EnsembleEncoder:
    """The members' last hidden states side by side (numpy), for :func:`ensemble_heads`."""

    def __init__(self, models: Sequence[PropagandaModel]) -> None:
        self.models = list(models)

    def __call__(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        outs = []
        with torch.inference_mode():
            for m in self.models:
                dev = next(m.parameters()).device
                h = m.hidden(torch.from_numpy(ids).to(dev), torch.from_numpy(mask).to(dev))
                outs.append(h.float().cpu().numpy())
        return np.concatenate(outs, -1)
