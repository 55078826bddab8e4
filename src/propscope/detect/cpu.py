"""What the CPU offers for the encoder's arithmetic (model name; AVX2, AVX-512, VNNI, AMX), read once from
/proc/cpuinfo on Linux: the shipped model picks its ONNX variant from it and benchmarks report it."""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

CPUINFO = Path("/proc/cpuinfo")


@dataclass(frozen=True)
class CpuInfo:
    """A CPU's model name and instruction-set flags (lower case, as in /proc/cpuinfo)."""

    model: str
    flags: frozenset[str]

    @property
    def avx2(self) -> bool:
        return "avx2" in self.flags

    @property
    def avx512(self) -> bool:
        return "avx512f" in self.flags

    @property
    def vnni(self) -> bool:
        """int8 dot products in one instruction: AVX-512 VNNI or AVX-VNNI."""
        return bool({"avx512_vnni", "avx_vnni"} & self.flags)

    @property
    def amx(self) -> bool:
        return bool({"amx_int8", "amx_tile"} & self.flags)

    @property
    def int8_fast(self) -> bool:
        """Whether int8 matrix products have hardware support (VNNI or AMX)."""
        return self.vnni or self.amx

    def describe(self) -> str:
        """``model (AVX2 yes, AVX-512 yes, VNNI yes, AMX no)``, or the model alone when flags are unknown."""
        if not self.flags:
            return f"{self.model} (instruction-set flags unknown)"
        marks = [("AVX2", self.avx2), ("AVX-512", self.avx512), ("VNNI", self.vnni), ("AMX", self.amx)]
        return f"{self.model} (" + ", ".join(f"{n} {'yes' if v else 'no'}" for n, v in marks) + ")"


def parse_cpuinfo(text: str) -> CpuInfo:
    """The first processor's ``model name`` and ``flags`` in the text of /proc/cpuinfo."""
    model, flags = "", ""
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if key == "model name" and not model:
            model = value.strip()
        elif key == "flags" and not flags:
            flags = value.strip()
        if model and flags:
            break
    return CpuInfo(model or platform.processor() or platform.machine() or "unknown CPU",
                   frozenset(flags.lower().split()))


@lru_cache(maxsize=1)
def cpu_info() -> CpuInfo:
    """This machine's CPU ($PROPSCOPE_CPU_FLAGS, a space-separated flag list, replaces the flags read from
    /proc/cpuinfo: for tests and for trying another variant choice)."""
    try:
        info = parse_cpuinfo(CPUINFO.read_text(encoding="utf-8", errors="replace"))
    except OSError:
        info = CpuInfo(platform.processor() or platform.machine() or "unknown CPU", frozenset())
    override = os.environ.get("PROPSCOPE_CPU_FLAGS")
    if override is not None:
        info = CpuInfo(info.model, frozenset(override.lower().split()))
    return info
