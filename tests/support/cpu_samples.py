"""/proc/cpuinfo texts of the CPU classes HARIS chooses fast paths for, as tests' stand-ins."""

from __future__ import annotations

ZEN3 = "processor\t: 0\nmodel name\t: AMD EPYC 7B13\nflags\t\t: fpu sse2 avx fma avx2 sha_ni\n"
ZEN4 = "processor\t: 0\nmodel name\t: AMD EPYC 9B14\nflags\t\t: avx2 fma avx512f avx512bw avx512_bf16 avx512_vnni\n"
SKYLAKE_SERVER = "processor\t: 0\nmodel name\t: Intel Xeon Gold 6148\nflags\t\t: avx2 fma avx512f avx512bw\n"
SAPPHIRE_RAPIDS = "model name\t: Intel Xeon\nflags\t\t: avx2 avx512f avx512_vnni amx_bf16 amx_tile amx_int8\n"
GRAVITON3 = "processor\t: 0\nFeatures\t: fp asimd asimddp bf16 i8mm sve\nCPU part\t: 0xd40\n"
