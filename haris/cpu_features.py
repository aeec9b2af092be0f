"""What this CPU can run fast, read from the hardware at run time, never assumed from a model name.

The CPUs HARIS runs on differ (AMD Zen 3 with AVX2 only, Zen 4 and Zen 5 with AVX-512, Intel with
AMX, ARM): a default that is fast on one is a trap on another. On a CPU without native BF16, oneDNN
runs a BF16 matmul through a slow emulation path, far slower than FP32 (docs/measurements.md), so
BF16 autocast is chosen only where the CPU has the instructions.

The flags come from `/proc/cpuinfo` (the kernel's own capability report; no torch, so the runtime
may use this too). `ONEDNN_MAX_CPU_ISA`, which caps what oneDNN may use, is honoured: a CPU capped
below AVX512_CORE_BF16 has no fast BF16 path, whatever its flags say.
"""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

# The flags that decide fast paths, in the order reports print them (x86 first, then ARM).
FLAGS_OF_INTEREST = (
    "avx2",
    "fma",
    "avx512f",
    "avx512_bf16",
    "avx512_vnni",
    "avx_vnni",
    "amx_bf16",
    "amx_int8",
    "amx_tile",
    "asimd",
    "asimddp",
    "bf16",
    "i8mm",
    "sve",
)
_BF16_FLAGS = frozenset({"avx512_bf16", "amx_bf16", "bf16"})  # x86 AVX512-BF16 / AMX, ARMv8.6 BF16
_INT8_DOT_FLAGS = frozenset({"avx512_vnni", "avx_vnni", "amx_int8", "asimddp", "i8mm"})
# oneDNN ISA caps (ONEDNN_MAX_CPU_ISA) that still allow its native BF16 kernels.
_ONEDNN_BF16_ISAS = ("AVX512_CORE_BF16", "AVX512_CORE_FP16", "AVX512_CORE_AMX", "AVX512_CORE_AMX_FP16", "AVX10", "ALL", "DEFAULT")


@dataclass(frozen=True)
class CpuFeatures:
    model: str
    flags: frozenset[str]  # the FLAGS_OF_INTEREST this CPU reports
    onednn_isa_cap: str  # ONEDNN_MAX_CPU_ISA, "" when unset

    @property
    def native_bf16(self) -> bool:
        """BF16 matmuls in hardware (AVX512-BF16, AMX, ARM BF16), and oneDNN allowed to use them."""
        capped = self.onednn_isa_cap and not self.onednn_isa_cap.upper().startswith(_ONEDNN_BF16_ISAS)
        return bool(self.flags & _BF16_FLAGS) and not capped

    @property
    def int8_dot_product(self) -> bool:
        """INT8 dot-product instructions (VNNI, AMX-INT8, ARM dot product): where INT8 outruns FP32 most."""
        return bool(self.flags & _INT8_DOT_FLAGS)

    def summary(self) -> str:
        """One line for logs, reports and CI: the model, the flags present and the decisive ones absent."""
        present = [flag for flag in FLAGS_OF_INTEREST if flag in self.flags]
        absent = [flag for flag in ("avx512f", "avx512_bf16", "avx512_vnni", "amx_tile") if flag not in self.flags]
        line = f"{self.model}: {' '.join(present) or 'no flags read'}"
        if absent and ("avx2" in self.flags or not self.flags):
            line += f"; no {', '.join(absent)}"
        if self.onednn_isa_cap:
            line += f"; ONEDNN_MAX_CPU_ISA={self.onednn_isa_cap}"
        return f"{line}; native BF16: {'yes' if self.native_bf16 else 'no'}; INT8 dot product: {'yes' if self.int8_dot_product else 'no'}"


@lru_cache(maxsize=1)
def cpu_features() -> CpuFeatures:
    """This machine's CPU (read once per process)."""
    return parse_cpuinfo(_read_cpuinfo(), os.environ.get("ONEDNN_MAX_CPU_ISA", ""))


def parse_cpuinfo(text: str, onednn_isa_cap: str = "") -> CpuFeatures:
    """CpuFeatures from the text of /proc/cpuinfo (x86 'flags' or ARM 'Features'); no flags if absent."""
    fields: dict[str, str] = {}
    for line in text.splitlines():
        key, _, value = line.partition(":")
        fields.setdefault(key.strip(), value.strip())  # the first processor's
    model = next((fields[key] for key in ("model name", "Model", "CPU part") if fields.get(key)), "") or platform.processor() or platform.machine()
    if "cpu family" in fields and "model" in fields:  # x86: a vendor's brand string ("AMD EPYC") can name several generations
        model += f" (family {fields['cpu family']} model {fields['model']})"
    flags = frozenset(fields.get("flags", fields.get("Features", "")).split()) & frozenset(FLAGS_OF_INTEREST)
    return CpuFeatures(model, flags, onednn_isa_cap)


def _read_cpuinfo() -> str:
    try:
        return Path("/proc/cpuinfo").read_text()
    except OSError:  # not Linux: no flags, so every fast path that needs one stays off
        return ""
