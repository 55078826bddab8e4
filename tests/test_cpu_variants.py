"""CPU flags from /proc/cpuinfo and the choice of the encoder variant per CPU."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from propscope.detect import cpu as cpu_mod
from propscope.detect.base import DEFAULT_MODEL_DIR
from propscope.detect.cpu import CpuInfo, parse_cpuinfo
from propscope.detect.onnx import VARIANT_ENV, OnnxDetector, choose_variant, encoder_variants
from propscope.errors import ModelNotInstalledError

CPUINFO = """processor\t: 0
vendor_id\t: GenuineIntel
model name\t: Intel(R) Xeon(R) Platinum 8480+
flags\t\t: fpu sse sse2 avx avx2 fma avx512f avx512bw avx512_vnni amx_tile amx_int8

processor\t: 1
model name\t: something else
flags\t\t: fpu
"""


def test_parse_cpuinfo_reads_the_first_processor():
    info = parse_cpuinfo(CPUINFO)
    assert info.model == "Intel(R) Xeon(R) Platinum 8480+"
    assert info.avx2 and info.avx512 and info.vnni and info.amx and info.int8_fast
    assert info.describe() == "Intel(R) Xeon(R) Platinum 8480+ (AVX2 yes, AVX-512 yes, VNNI yes, AMX yes)"


def test_cpu_kinds():
    avx2 = CpuInfo("old", frozenset({"avx", "avx2", "fma"}))
    assert avx2.avx2 and not avx2.avx512 and not avx2.vnni and not avx2.int8_fast
    assert avx2.describe() == "old (AVX2 yes, AVX-512 no, VNNI no, AMX no)"
    alder = CpuInfo("client", frozenset({"avx2", "avx_vnni"}))  # AVX-VNNI without AVX-512
    assert alder.vnni and not alder.avx512
    assert CpuInfo("arm", frozenset()).describe() == "arm (instruction-set flags unknown)"


def test_flags_override_by_environment(monkeypatch):
    monkeypatch.setenv("PROPSCOPE_CPU_FLAGS", "avx2 fma")
    cpu_mod.cpu_info.cache_clear()
    try:
        info = cpu_mod.cpu_info()
        assert info.flags == {"avx2", "fma"} and not info.vnni
    finally:
        monkeypatch.delenv("PROPSCOPE_CPU_FLAGS")
        cpu_mod.cpu_info.cache_clear()


VNNI = CpuInfo("v", frozenset({"avx2", "avx512f", "avx512_vnni"}))
AVX2 = CpuInfo("a", frozenset({"avx2"}))
TWO = {"int8": "encoder.onnx", "fp32": "encoder-fp32.onnx"}


def test_choose_variant_rules(monkeypatch):
    monkeypatch.delenv(VARIANT_ENV, raising=False)
    times = {"int8": 2.0, "fp32": 1.0}
    measured: list[str] = []

    def measure(name: str) -> float:
        measured.append(name)
        return times[name]

    assert choose_variant(TWO, VNNI, measure) == "int8" and measured == []  # no timing on VNNI
    assert choose_variant(TWO, AVX2, measure) == "fp32" and sorted(measured) == ["fp32", "int8"]
    times["int8"] = 0.5
    assert choose_variant(TWO, AVX2, measure) == "int8"
    assert choose_variant(TWO, AVX2) == "int8"  # nothing to measure with
    assert choose_variant({"int8": "encoder.onnx"}, AVX2, measure) == "int8"
    monkeypatch.setenv(VARIANT_ENV, "fp32")
    assert choose_variant(TWO, VNNI, measure) == "fp32"
    monkeypatch.setenv(VARIANT_ENV, "int4")
    with pytest.raises(ModelNotInstalledError, match="int4"):
        choose_variant(TWO, VNNI, measure)


def test_encoder_variants_from_config():
    assert encoder_variants({"encoder": "e.onnx", "quantized": True}) == {"int8": "e.onnx"}
    assert encoder_variants({}) == {"fp32": "encoder.onnx"}
    assert encoder_variants({"encoder_variants": TWO}) == TWO


def _model_with_two_variants(tmp_path: Path) -> Path:
    for f in DEFAULT_MODEL_DIR.iterdir():
        (tmp_path / f.name).symlink_to(f)
    (tmp_path / "encoder-alt.onnx").symlink_to(DEFAULT_MODEL_DIR / "encoder.onnx")
    meta = json.loads((DEFAULT_MODEL_DIR / "config.json").read_text())
    meta["encoder_variants"] = {"int8": "encoder.onnx", "alt": "encoder-alt.onnx"}
    (tmp_path / "config.json").unlink()
    (tmp_path / "config.json").write_text(json.dumps(meta))
    return tmp_path


def test_detector_loads_the_variant_for_the_cpu(tmp_path, monkeypatch):
    model = _model_with_two_variants(tmp_path)
    monkeypatch.delenv(VARIANT_ENV, raising=False)
    monkeypatch.setattr("propscope.detect.onnx.cpu_info", lambda: VNNI)
    assert OnnxDetector(model, threads=1).variant == "int8"
    monkeypatch.setattr("propscope.detect.onnx.cpu_info", lambda: AVX2)
    timed: list[str] = []
    monkeypatch.setattr("propscope.detect.onnx._time_session",
                        lambda s: timed.append(Path(s._model_path).name) or
                        (0.1 if Path(s._model_path).name == "encoder-alt.onnx" else 0.2))
    det = OnnxDetector(model, threads=1)
    assert det.variant == "alt" and sorted(timed) == ["encoder-alt.onnx", "encoder.onnx"]
    assert det.detect(["The terrorists came.\n"]) is not None
    monkeypatch.setenv(VARIANT_ENV, "int8")
    assert OnnxDetector(model, threads=1).variant == "int8"


def test_worker_threads_sleep_unless_asked_to_spin(monkeypatch):
    monkeypatch.delenv("PROPSCOPE_SPIN", raising=False)
    opts = OnnxDetector(DEFAULT_MODEL_DIR, threads=2).session.get_session_options()
    assert opts.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    monkeypatch.setenv("PROPSCOPE_SPIN", "1")
    opts = OnnxDetector(DEFAULT_MODEL_DIR, threads=2).session.get_session_options()
    assert opts.get_session_config_entry("session.intra_op.allow_spinning") == "1"


def test_fp32_variant_built_from_the_int8_encoder(tmp_path, monkeypatch):
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    import numpy as np

    from propscope.detect.base import MODELS_DIR
    from propscope_train.variants import add_fp32_variant

    folder = add_fp32_variant(MODELS_DIR / "fast", tmp_path / "fast")
    meta = json.loads((folder / "config.json").read_text())
    assert meta["encoder_variants"] == {"int8": "encoder.onnx", "fp32": "encoder-fp32.onnx"}
    assert not (MODELS_DIR / "fast" / "encoder-fp32.onnx").exists()  # the shipped folder is untouched
    ids = np.array([[101, 1996, 7197, 2234, 1012, 102]], dtype=np.int64)
    mask = np.ones_like(ids)
    out = {}
    for name in ("int8", "fp32"):
        monkeypatch.setenv(VARIANT_ENV, name)
        det = OnnxDetector(folder, threads=1)
        assert det.variant == name
        out[name] = det._encode(ids, mask).ravel()
    cos = float(out["int8"] @ out["fp32"] / np.linalg.norm(out["int8"]) / np.linalg.norm(out["fp32"]))
    assert cos > 0.95  # the same weights; only int8 rounding of activations differs
