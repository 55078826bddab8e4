"""Add an fp32 encoder variant to a model folder, rebuilt from its int8 encoder (weights dequantized), so
that the detector can time both at load time on CPUs without VNNI/AMX and keep the faster (see
``propscope.detect.onnx.choose_variant``). Needs the train extra.

    python -m propscope_train.variants src/propscope/models/default --out /tmp/default-with-fp32

With ``--out`` the folder is copied first (links to the original files), so the shipped one is untouched.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from types import SimpleNamespace

from propscope.detect.onnx import encoder_variants

from .export import export_onnx
from .from_onnx import torch_encoder_from_onnx


def add_fp32_variant(model_dir: Path, out: Path | None = None, name: str = "encoder-fp32.onnx") -> Path:
    """Write ``name`` (fp32, fused like the int8 one) into ``out`` (default: ``model_dir``) and list both
    variants in its config.json; returns the folder."""
    model_dir = Path(model_dir)
    target = Path(out) if out is not None else model_dir
    if target != model_dir:
        target.mkdir(parents=True, exist_ok=True)
        for f in model_dir.iterdir():
            if f.is_file() and not (target / f.name).exists():
                (target / f.name).symlink_to(f.resolve())
    meta = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
    variants = encoder_variants(meta)
    shim = SimpleNamespace(encoder=torch_encoder_from_onnx(model_dir), eval=lambda: None)
    export_onnx(shim, target / name, quantize=False)  # type: ignore[arg-type]
    meta["encoder_variants"] = {**variants, "fp32": name}
    cfg = target / "config.json"
    if cfg.is_symlink():
        cfg.unlink()
    cfg.write_text(json.dumps(meta, indent=2), encoding="utf-8")
    return target


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model_dir", type=Path)
    ap.add_argument("--out", type=Path, default=None, help="write a copy here instead of changing model_dir")
    args = ap.parse_args()
    folder = add_fp32_variant(args.model_dir, args.out)
    variants = json.loads((folder / "config.json").read_text())["encoder_variants"]
    print(f"{folder}: encoder variants {variants}")


if __name__ == "__main__":
    main()
