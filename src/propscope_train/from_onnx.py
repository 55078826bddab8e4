"""Rebuild the shipped encoder in PyTorch fp32 from its int8 ONNX file (weights dequantized), so the
benchmark can time exactly the same model in PyTorch. Needs torch and transformers."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import numpy_helper
from transformers import AutoConfig, AutoModel

_PREFIX = "encoder."


def _dequantize(q: np.ndarray, scale: np.ndarray, zp: np.ndarray, axis: int) -> np.ndarray:
    q = q.astype(np.float32) - zp.astype(np.float32).reshape(_bshape(zp, q.ndim, axis))
    return q * scale.astype(np.float32).reshape(_bshape(scale, q.ndim, axis))


def _bshape(v: np.ndarray, ndim: int, axis: int) -> tuple[int, ...]:
    if v.size == 1:
        return (1,) * ndim
    shape = [1] * ndim
    shape[axis] = v.size
    return tuple(shape)


def torch_encoder_from_onnx(model_dir: Path) -> torch.nn.Module:
    """A transformers encoder in fp32 carrying the ONNX model's (dequantized) weights."""
    model_dir = Path(model_dir)
    meta = json.loads((model_dir / "config.json").read_text())
    graph = onnx.load(str(model_dir / meta.get("encoder", "encoder.onnx"))).graph
    inits = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    state: dict[str, np.ndarray] = {}
    for name, arr in inits.items():
        if name.startswith(_PREFIX) and not name.endswith(("_quantized", "_scale", "_zero_point")):
            state[name[len(_PREFIX):]] = arr
        elif name.startswith(_PREFIX) and name.endswith("_quantized"):  # quantized embeddings (Gather)
            base = name[: -len("_quantized")]
            scale, zp = inits[base + "_scale"], inits[base + "_zero_point"]
            state[base[len(_PREFIX):]] = _dequantize(arr, scale, zp, 0)
    for node in graph.node:
        if node.op_type == "QAttention":  # fused query/key/value of one layer: weight (hidden, 3*hidden)
            layer = len([k for k in state if k.endswith(".attention.self.query.weight")])
            wq = node.input[1]
            base = wq[: -len("_quantized")]
            w = _dequantize(inits[wq], inits[base + "_scale"], inits[base + "_zero_point"], 1)
            bias = inits[node.input[2]]
            h = w.shape[0]
            for i, part in enumerate(("query", "key", "value")):
                prefix = f"encoder.layer.{layer}.attention.self.{part}"
                state[prefix + ".weight"] = w[:, i * h : (i + 1) * h].T
                state[prefix + ".bias"] = bias[i * h : (i + 1) * h]
            continue
        if node.op_type != "MatMulInteger":
            continue
        wname = node.input[1]
        if wname not in inits or not wname.endswith("_quantized"):
            continue
        base = wname[: -len("_quantized")]
        w = _dequantize(inits[wname], inits[base + "_scale"], inits[base + "_zero_point"], 1)  # (in, out)
        module = node.output[0].split("/MatMul_output")[0].strip("/").replace("/", ".")
        state[module[len(_PREFIX):] + ".weight"] = w.T
    cfg = AutoConfig.for_model(**meta["encoder_config"])
    model = AutoModel.from_config(cfg, add_pooling_layer=False)
    missing, unexpected = model.load_state_dict({k: torch.from_numpy(np.array(v, dtype=np.float32))
                                                 for k, v in state.items()}, strict=False)
    missing = [m for m in missing if "position_ids" not in m]
    if missing:
        raise RuntimeError(f"could not rebuild {len(missing)} weights from ONNX, e.g. {missing[:3]}")
    return model.eval()
