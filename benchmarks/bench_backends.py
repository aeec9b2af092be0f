"""The runtimes a benchmark compares, written `backend:precision[@device]`, and opening them.

- `torch:fp32|bf16|fp16`: the checkpoint run eagerly, in FP32 or under autocast (what a user would
  pick instead of a bundle); the FP32 one is the parity reference. BF16 is a baseline only where
  the CPU runs it natively (haris/cpu_features.py): elsewhere no user would pick it.
- every bundle backend of the registry (runtime/backend_registry.py) at the precisions it runs:
  `onnxruntime:fp32|fp16|int8` (CPU by default, `@cuda` for its CUDA provider),
  `openvino:fp32|bf16|int8` (CPU), `tensorrt:fp16|fp32|int8` (`@cuda:0` by default).

A backend named without a precision (`--backends onnxruntime`) runs its default precisions on that
device (`default_precisions`). A runtime this machine cannot run (TensorRT without a GPU or without engines, a missing provider)
is not an error: the benchmarks list it as skipped, with the reason, and go on with the others.
Importing this module imports no torch, so a worker measuring onnxruntime stays torch-free.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from haris.cpu_features import cpu_features
from haris.errors import HarisError
from haris.runtime.backend_registry import BACKENDS
from haris.runtime.bundle import Bundle
from haris.runtime.predictor import DEFAULT_CACHE_BYTES, Predictor
from haris.runtime.predictor_factory import open_predictor, predictor_for_model

EAGER_REFERENCE = "torch:fp32"
# What `haris bench parity` compares by default: results that are the same on every CPU class
# (openvino:bf16 and the INT8 graphs are asked for by name: `--backends openvino,onnxruntime:int8`).
PARITY_BACKENDS = "onnxruntime:fp32,onnxruntime:fp16,openvino:fp32,tensorrt:fp16"


@dataclass(frozen=True)
class BackendSpec:
    backend: str
    precision: str
    device: str

    @property
    def label(self) -> str:
        """How reports name it: the device only when it is not the backend's default."""
        suffix = "" if self.device == BACKENDS[self.backend].default_device else f"@{self.device}"
        return f"{self.backend}:{self.precision}{suffix}"

    @property
    def on_gpu(self) -> bool:
        return self.device.startswith("cuda")


def parse_backend(text: str) -> BackendSpec:
    """`onnxruntime:fp16`, `torch:bf16`, `tensorrt:fp16@cuda:1` -> BackendSpec; HarisError if unknown."""
    specs = _parse_part(text)
    if len(specs) != 1:
        raise HarisError(f"{text!r} names no precision; e.g. {specs[0].label}")
    return specs[0]


def parse_backends(text: str | Sequence[str]) -> list[BackendSpec]:
    """A comma-separated list (or a sequence) of specs, in order, without duplicates; a bare backend
    name stands for its default precisions."""
    parts = text.split(",") if isinstance(text, str) else list(text)
    specs = [spec for part in parts if part.strip() for spec in _parse_part(part)]
    if not specs:
        raise HarisError("no backends given; e.g. --backends onnxruntime:fp32,onnxruntime:fp16")
    return list(dict.fromkeys(specs))


def default_precisions(backend: str, device: str) -> tuple[str, ...]:
    """The precisions a bare backend name runs: those with a fast path on `device`."""
    if backend == "torch" and device.startswith("cuda"):
        return ("fp32", "fp16")
    if backend in ("torch", "openvino"):  # FP16 has no CPU fast path; BF16 only with native instructions
        return ("fp32", "bf16") if cpu_features().native_bf16 else ("fp32",)
    if backend == "onnxruntime":
        return ("fp32", "fp16")  # the bundle's graphs, both run by the CPU provider
    return ("fp16",)


def default_speed_backends(gpu_present: bool) -> list[BackendSpec]:
    """The eager baselines a user would pick instead, then the bundle's runtimes (OpenVINO's BF16 too
    where the CPU runs it natively)."""
    eager = ["torch", "torch@cuda"] if gpu_present else ["torch"]
    return parse_backends([*eager, *PARITY_BACKENDS.split(","), "openvino"])


def _parse_part(text: str) -> list[BackendSpec]:
    name, _, device = text.strip().partition("@")
    backend, _, precision = name.partition(":")
    if backend not in BACKENDS:
        raise HarisError(f"unknown backend {backend!r} in {text!r}; choose from {', '.join(BACKENDS)}")
    device = device or BACKENDS[backend].default_device
    if not precision:
        return [BackendSpec(backend, default, device) for default in default_precisions(backend, device)]
    if precision not in BACKENDS[backend].precisions:
        raise HarisError(f"{backend} runs precisions {', '.join(BACKENDS[backend].precisions)}, not {precision!r} (in {text!r})")
    return [BackendSpec(backend, precision, device)]


def skip_reason(spec: BackendSpec) -> str | None:
    """Why this machine cannot run `spec` at all (no GPU), or None; other problems surface on opening."""
    if not spec.on_gpu:
        return None
    from haris.runtime.cuda_memory import gpu_properties

    _, _, index = spec.device.partition(":")
    if gpu_properties(int(index or 0)) is None:
        return f"no CUDA GPU {spec.device} on this machine"
    return None


def open_spec(
    spec: BackendSpec, checkpoint: str | Path, bundle: str | Path, threads: int | None, cache_bytes: int = DEFAULT_CACHE_BYTES
) -> Predictor:
    """A Predictor for `spec`: eager from the checkpoint, or the bundle on onnxruntime or TensorRT.

    Raises HarisError (a BundleError for missing engines or graphs) when it cannot run here.
    """
    if spec.backend != "torch":
        return open_predictor(bundle, spec.backend, spec.device, spec.precision, threads, cache_bytes)
    eager = open_predictor(checkpoint, "torch", spec.device, spec.precision, threads, cache_bytes)
    size = Bundle.open(bundle, verify_all=False).manifest.image_size
    if eager.settings.image_size == size:
        return eager
    # A bundle exported at another `--image-size`: eager runs at that size too, or the comparison would be of two sizes.
    from haris.export.model_resizing import model_at_image_size

    resized = predictor_for_model(model_at_image_size(eager.backend.model, size), spec.precision, cache_bytes, threads=threads)
    resized.description.update(eager.description, image_size=size)
    eager.close()
    return resized


def open_available(
    specs: Sequence[BackendSpec], checkpoint: str | Path, bundle: str | Path, threads: int | None
) -> tuple[dict[BackendSpec, Predictor], dict[str, str]]:
    """Predictors for the specs this machine runs, and {label: reason} for the ones it skips."""
    opened, skipped = {}, {}
    for spec in specs:
        reason = skip_reason(spec)
        if reason is None:
            try:
                opened[spec] = open_spec(spec, checkpoint, bundle, threads)
                continue
            except HarisError as error:
                reason = str(error)
        skipped[spec.label] = reason
    return opened, skipped
