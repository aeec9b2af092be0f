"""`--backend auto` and `--precision auto`: the engine and precision chosen from this machine.

On a CPU the rule is a ranking, fastest first, of the paths measured on each CPU class (the table
in docs/runtime.md, "Which engine and precision"). `auto` precision takes the first path whose
parity class is near FP32 (FP32, or BF16: mean mask IoU >= 0.99 with eager FP32) that is
installed and whose graphs the bundle has; INT8 changes masks more, so it is only ever chosen
when asked for (`--precision int8` with `--backend auto` takes the fastest INT8 engine). A class
with no measurements of its own uses the nearest measured one, and the reason says so.

On a GPU: TensorRT where the bundle has engines, else onnxruntime's CUDA provider, FP16 where the
bundle has FP16 graphs. A checkpoint runs eager torch, FP32 (the reference). The choice, with its
reason and the CPU, goes into the Predictor's description, so every report records it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from haris.cpu_features import CpuFeatures, cpu_features
from haris.errors import HarisError
from haris.runtime.backend_registry import AUTO, BACKENDS
from haris.runtime.bundle import Bundle

NEAR_FP32 = ("fp32", "bf16")  # the precisions `auto` may choose
# Per CPU class, the bundle paths fastest first (paper preset at 1024, 2 threads, docs/runtime.md).
RANKINGS: dict[str, tuple[tuple[str, str], ...]] = {
    "x86, native BF16": (
        ("openvino", "int8"),
        ("openvino", "bf16"),
        ("onnxruntime", "int8"),
        ("onnxruntime", "fp32"),
        ("openvino", "fp32"),
        ("onnxruntime", "fp16"),
    ),
    "x86, AVX2": (("onnxruntime", "int8"), ("openvino", "int8"), ("onnxruntime", "fp32"), ("openvino", "fp32"), ("onnxruntime", "fp16")),
}
# Classes measured by another's ranking, until they are measured themselves.
STAND_INS = {"x86, AVX-512 without BF16": "x86, AVX2", "other": "x86, AVX2"}


@dataclass(frozen=True)
class EngineChoice:
    backend: str
    precision: str
    device: str
    reason: str
    cpu: str = ""  # the CPU it was chosen for (its summary line)

    @property
    def label(self) -> str:
        return f"{self.backend}:{self.precision}"

    def record(self) -> dict[str, Any]:
        """What reports and services record of the choice."""
        return {"engine": self.label, "device": self.device, "reason": self.reason, "cpu": self.cpu}


def choice_line(description: dict[str, Any]) -> str:
    """One line for a user: what a Predictor runs, and why (its description's `choice`)."""
    choice = description.get("choice", {})
    return f"{choice.get('engine', '?')} on {choice.get('device', '?')}: {choice.get('reason', 'no choice recorded')}"


def require_native_bf16(label: str, cpu: CpuFeatures) -> None:
    """HarisError for a BF16 path on a CPU without BF16 instructions, where it would be emulated
    (torch) or quietly run in FP32 (OpenVINO)."""
    if not cpu.native_bf16:
        raise HarisError(
            f"{label} needs a CPU with BF16 instructions (avx512_bf16 or amx_bf16), and this one has neither "
            f"({cpu.summary()}): use FP32 or --precision auto"
        )


def cpu_class(cpu: CpuFeatures) -> str:
    """The class of `cpu` the rankings are measured for."""
    if cpu.native_bf16 and cpu.flags & {"avx512_bf16", "amx_bf16"}:
        return "x86, native BF16"
    if "avx512f" in cpu.flags:
        return "x86, AVX-512 without BF16"
    return "x86, AVX2" if "avx2" in cpu.flags else "other"


def choose_engine(
    bundle: Bundle | None, backend: str | None, precision: str | None, device: str | None, cpu: CpuFeatures | None = None
) -> EngineChoice:
    """The engine for a bundle (None: a checkpoint). `backend` and `precision` None or "auto" are
    chosen; `device` None means the CPU unless the backend runs only on a GPU."""
    backend, precision, cpu = backend or AUTO, precision or AUTO, cpu or cpu_features()
    return dataclasses.replace(_choice(bundle, backend, precision, device, cpu), cpu=cpu.summary())


def _choice(bundle: Bundle | None, backend: str, precision: str, device: str | None, cpu: CpuFeatures) -> EngineChoice:
    if bundle is None:
        return _checkpoint_choice(backend, precision, device)
    if backend != AUTO:
        device = device or BACKENDS[backend].default_device
    device = device or "cpu"
    if backend != AUTO and precision != AUTO:
        if precision == "bf16" and device == "cpu":
            require_native_bf16(f"{backend}:bf16", cpu)
        return EngineChoice(backend, precision, device, "as asked")
    if device.startswith("cuda"):
        return _gpu_choice(bundle, backend, precision, device)
    return _cpu_choice(bundle, backend, precision, cpu)


def _checkpoint_choice(backend: str, precision: str, device: str | None) -> EngineChoice:
    if backend not in (AUTO, "torch"):
        raise HarisError(f"a checkpoint runs on the torch backend only: export a bundle for {backend}")
    chosen = "fp32" if precision == AUTO else precision
    reason = "a checkpoint runs eager torch; FP32 is the reference" if precision == AUTO else "as asked"
    return EngineChoice("torch", chosen, device or "cpu", reason)


def _gpu_choice(bundle: Bundle, backend: str, precision: str, device: str) -> EngineChoice:
    manifest = bundle.manifest
    if precision == AUTO:
        precision = "fp16" if "fp16" in manifest.graphs else "fp32"
    if backend == AUTO:
        backend = "tensorrt" if precision in manifest.engines else "onnxruntime"
    reason = f"{precision.upper()} on a GPU; " + ("the bundle has TensorRT engines" if backend == "tensorrt" else "no TensorRT engines in the bundle")
    return EngineChoice(backend, precision, device, reason)


def _cpu_choice(bundle: Bundle, backend: str, precision: str, cpu: CpuFeatures) -> EngineChoice:
    measured = cpu_class(cpu)
    ranking_class = STAND_INS.get(measured, measured)
    passed_over = []
    for candidate, candidate_precision in RANKINGS[ranking_class]:
        if backend not in (AUTO, candidate) or candidate_precision not in ((precision,) if precision != AUTO else NEAR_FP32):
            continue
        entry = BACKENDS[candidate]
        if not entry.installed():
            passed_over.append(f"{candidate}:{candidate_precision} (not installed: pip install 'haris[{entry.extra}]')")
        elif entry.graph_precision(candidate_precision) not in bundle.precisions:
            passed_over.append(f"{candidate}:{candidate_precision} ({_missing_graphs(bundle, entry.graph_precision(candidate_precision))})")
        else:
            return EngineChoice(candidate, candidate_precision, "cpu", _cpu_reason(measured, ranking_class, precision, passed_over))
    wanted = f"{backend}:{precision}".replace(AUTO, "*")
    if passed_over:
        raise HarisError(f"no engine for {wanted} can run this bundle here: {'; '.join(passed_over)}")
    paths = ", ".join(f"{name}:{path_precision}" for name, path_precision in RANKINGS[ranking_class])
    raise HarisError(f"no {wanted} path for CPUs of class '{measured}' ({cpu.summary()}); the paths for it: {paths}")


def _missing_graphs(bundle: Bundle, precision: str) -> str:
    refusal = getattr(bundle.manifest, "refused", {}).get(precision)
    return f"no {precision} graphs in the bundle" + (f": export refused them ({refusal['reason']})" if refusal else "")


def _cpu_reason(measured: str, ranking_class: str, precision: str, passed_over: list[str]) -> str:
    kind = "near-FP32 path" if precision == AUTO else f"{precision.upper()} path"
    reason = f"the fastest {kind} measured on CPUs of class '{ranking_class}'"
    if ranking_class != measured:
        reason += f" (this CPU's class, '{measured}', is not measured yet: the '{ranking_class}' ranking stands in)"
    if passed_over:
        reason += f"; passed over: {', '.join(passed_over)}"
    return reason
