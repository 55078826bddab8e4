"""Export a trained model folder: encoder as int8 ONNX, heads as numpy, tokenizer, config.json."""

from __future__ import annotations

import json
import shutil
import tempfile
import warnings
from pathlib import Path

import numpy as np
import torch

from propscope.detect.core import DetectorConfig
from propscope.detect.lexical import LexicalModel

from .model import PropagandaModel


class _EncoderOnly(torch.nn.Module):
    def __init__(self, model: PropagandaModel) -> None:
        super().__init__()
        self.encoder = model.encoder

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state


def export_onnx(model: PropagandaModel, path: Path, quantize: bool = True) -> None:
    """Write the encoder to ``path``: traced with plain (eager) attention so that onnxruntime's transformer
    optimizer can fuse embeddings, attention, GELU and layer norms, then int8 dynamic quantization of the
    fused graph (QAttention, MatMulInteger) when ``quantize``. Fusing first about doubles CPU speed."""
    model.eval()
    cfg = model.encoder.config
    try:
        model.encoder.set_attn_implementation("eager")
    except (AttributeError, ValueError):  # older transformers
        cfg._attn_implementation = "eager"
    enc = _EncoderOnly(model)
    ids = torch.ones((2, 16), dtype=torch.long)
    mask = torch.ones_like(ids)
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer warnings about shapes fixed at export are expected
        fp32 = Path(tmp) / "encoder-fp32.onnx"
        torch.onnx.export(
            enc, (ids, mask), str(fp32), input_names=["input_ids", "attention_mask"],
            output_names=["hidden"], opset_version=17, dynamo=False,
            dynamic_axes={"input_ids": {0: "batch", 1: "seq"}, "attention_mask": {0: "batch", 1: "seq"},
                          "hidden": {0: "batch", 1: "seq"}},
        )
        fused = Path(tmp) / "encoder-fused.onnx"
        from onnxruntime.transformers import optimizer

        opt = optimizer.optimize_model(str(fp32), model_type="bert", num_heads=cfg.num_attention_heads,
                                       hidden_size=cfg.hidden_size)
        opt.save_model_to_file(str(fused))
        if quantize:
            import onnx
            from onnxruntime.quantization import QuantType, quantize_dynamic

            quantize_dynamic(str(fused), str(path), weight_type=QuantType.QInt8, per_channel=True,
                             extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
        else:
            shutil.copy(fused, path)


def export_model(model: PropagandaModel, tokenizer, dcfg: DetectorConfig, meta: dict, out: Path,
                 base: Path, quantize: bool = True, lexical: LexicalModel | None = None) -> None:
    out.mkdir(parents=True, exist_ok=True)
    export_onnx(model, out / "encoder.onnx", quantize=quantize)
    np.savez_compressed(out / "heads.npz", **model.head_arrays())
    if lexical is not None:
        lexical.save(out / "lexical.npz")
    else:
        (out / "lexical.npz").unlink(missing_ok=True)
    tokenizer.save(str(out / "tokenizer.json"))
    config = dict(meta)
    config["format"] = 1
    config["encoder"] = "encoder.onnx"
    config["quantized"] = quantize
    config["decode"] = dcfg.to_dict()
    config["encoder_config"] = model.encoder.config.to_dict()
    (out / "config.json").write_text(json.dumps(config, indent=2) + "\n")


def reexport(checkpoint: Path, model_dir: Path, base: Path | None = None) -> None:
    """Rewrite ``model_dir``'s encoder.onnx from a PyTorch checkpoint (saved by ``train --checkpoint``),
    e.g. after a change to the export; heads, tokenizer and decoding settings stay as they are."""
    from .loop import default_base_model, load_checkpoint

    meta = json.loads((model_dir / "config.json").read_text())
    model = load_checkpoint(checkpoint, base or default_base_model(), torch.device("cpu"))
    export_onnx(model, model_dir / meta.get("encoder", "encoder.onnx"), quantize=meta.get("quantized", True))
    meta["encoder_config"] = model.encoder.config.to_dict()
    (model_dir / "config.json").write_text(json.dumps(meta, indent=2) + "\n")


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser(description="Re-export a model folder's encoder from a checkpoint.")
    ap.add_argument("--checkpoint", type=Path, required=True)
    ap.add_argument("--model", type=Path, required=True)
    args = ap.parse_args()
    reexport(args.checkpoint, args.model)
