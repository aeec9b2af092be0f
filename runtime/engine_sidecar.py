"""The JSON sidecar beside each TensorRT plan, and whether a plan can run on this machine.

An engine is only valid for the TensorRT it was built with and the GPUs it was built for, and a
plan file does not say so in a form Python can read before deserializing. The sidecar does:
flavour (`tensorrt` or `tensorrt_rtx`) and version, the build GPU (or none: TensorRT-RTX compiles
ahead of time without one), the target compute capabilities, the profiles and the FP16 share.
Export writes it (haris.export.bundle_engines); the TensorRT backend checks it before loading.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from haris.errors import BundleError
from haris.runtime.bundle_manifest import EngineSpec

ENGINES_DIR = "engines"
SIDECAR_FORMAT = 1
# Python module -> pip package, for the message when the flavour an engine needs is missing.
TENSORRT_PIP_PACKAGES = {"tensorrt": "tensorrt", "tensorrt_rtx": "tensorrt-rtx"}
# TensorRT-RTX's ahead-of-time default: "compute capability 8.0, 8.6, 8.9, 12.0, and later"
# (docs.nvidia.com/deeplearning/tensorrt-rtx, "CPU-Only AOT and TensorRT-RTX Engines").
RTX_DEFAULT_TARGETS = ("8.0", "8.6", "8.9", "12.0")


def plan_file(stage: str, precision: str) -> str:
    return f"{ENGINES_DIR}/{stage}.{precision}.plan"


def sidecar_file(stage: str, precision: str) -> str:
    return f"{ENGINES_DIR}/{stage}.{precision}.json"


def read_sidecar(bundle_dir: Path, spec: EngineSpec) -> dict[str, Any]:
    """The sidecar of `spec`, refused when unreadable or written for another plan file."""
    path = bundle_dir / spec.sidecar
    try:
        sidecar = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise BundleError(f"engine sidecar {path} is unreadable: {error}") from None
    if sidecar.get("format") != SIDECAR_FORMAT or sidecar.get("plan_sha256") != spec.sha256:
        raise BundleError(f"engine sidecar {path} does not describe {spec.file}; rebuild the engines with `haris build`")
    return sidecar


def check_engine_compatibility(sidecar: dict[str, Any], version: str, gpu: dict[str, str] | None) -> None:
    """Raise BundleError, one line naming both sides, unless the plan runs on this TensorRT and GPU.

    `version` is the installed version of the sidecar's flavour; `gpu` is this machine's GPU
    (name, compute_capability), or None when it has none.
    """
    problem = _incompatibility(sidecar, version, gpu)
    if problem:
        # Without a GPU no rebuild helps: point to a backend that runs here instead.
        remedy = "use the onnxruntime backend here" if gpu is None else "rebuild the engines here with `haris build`"
        raise BundleError(
            f"engine {sidecar['plan']} was built {describe_build(sidecar)}; this machine has {describe_machine(sidecar, version, gpu)}: "
            f"{problem}; {remedy}"
        )


def _incompatibility(sidecar: dict[str, Any], version: str, gpu: dict[str, str] | None) -> str | None:
    built = sidecar["tensorrt"]
    if built["version"] != version:
        return "TensorRT engines only load in the TensorRT version that built them"
    if gpu is None:
        return "TensorRT engines need a CUDA GPU"
    if not targets_compute_capability(sidecar["target"], gpu["compute_capability"]):
        return f"the engine has no kernels for compute capability {gpu['compute_capability']}"
    # Full TensorRT tunes tactics for the build GPU; another model of the same architecture may be
    # slower or fail, so the name must match too. TensorRT-RTX plans are portable by design.
    if built["flavor"] == "tensorrt" and sidecar["gpu"] and sidecar["gpu"]["name"] != gpu["name"]:
        return "TensorRT engines are tuned for the GPU model that built them"
    return None


def targets_compute_capability(target: dict[str, Any], compute_capability: str) -> bool:
    listed = [_as_number(cc) for cc in target["compute_capabilities"]]
    wanted = _as_number(compute_capability)
    return wanted in listed or (target.get("and_later", False) and wanted >= max(listed))


def _as_number(compute_capability: str) -> tuple[int, int]:
    major, minor = compute_capability.split(".")
    return int(major), int(minor)


def describe_build(sidecar: dict[str, Any]) -> str:
    built, target = sidecar["tensorrt"], sidecar["target"]
    place = f"on {_describe_gpu(sidecar['gpu'])}" if sidecar["gpu"] else "ahead of time without a GPU"
    targets = ", ".join(target["compute_capabilities"]) + (" and later" if target.get("and_later") else "")
    return f"with {built['flavor']} {built['version']} {place} for compute capability {targets}"


def describe_machine(sidecar: dict[str, Any], version: str, gpu: dict[str, str] | None) -> str:
    return f"{sidecar['tensorrt']['flavor']} {version} and {_describe_gpu(gpu) if gpu else 'no CUDA GPU'}"


def _describe_gpu(gpu: dict[str, str]) -> str:
    return f"{gpu['name']} (compute capability {gpu['compute_capability']})"
