"""The machine, software and bundle a benchmark ran on: what every report records beside its numbers.

Numbers from two runs only compare when the CPU, GPU, thread count and library versions match, so
each report carries them, and the bundle's manifest sha256 ties the numbers to the exact graphs
(the manifest lists every graph's own sha256). Importing this module imports no torch: a report
about an onnxruntime deployment should not need it, and versions are read from package metadata.
"""

from __future__ import annotations

import os
import platform
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from haris.cpu_features import FLAGS_OF_INTEREST, cpu_features
from haris.file_digest import file_sha256
from haris.runtime.backend_registry import AUTO
from haris.runtime.bundle import Bundle
from haris.runtime.bundle_manifest import MANIFEST_FILE
from haris.runtime.engine_choice import choose_engine

# Distributions whose versions change the numbers; the ones not installed are left out.
LIBRARIES = (
    "haris",
    "numpy",
    "torch",
    "onnxruntime",
    "onnxruntime-gpu",
    "openvino",
    "onnx",
    "tensorrt",
    "tensorrt-rtx",
    "cuda-python",
    "open_clip_torch",
    "segment-anything",
    "matplotlib",
)


def describe_machine(threads: int | None = None) -> dict[str, Any]:
    """CPU model, cores, threads used, GPU (or None), library versions and the date, for a report."""
    return {
        "cpu_model": cpu_features().model,
        "cpu_cores": os.cpu_count(),
        "cpu_flags": [flag for flag in FLAGS_OF_INTEREST if flag in cpu_features().flags],
        "cpu_fast_paths": {"native_bf16": cpu_features().native_bf16, "int8_dot_product": cpu_features().int8_dot_product},
        "threads": threads,
        "gpu": gpu_description(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "libraries": library_versions(),
        "cpp_ops": _cpp_ops_backend(),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def describe_bundle(bundle_dir: str | Path) -> dict[str, Any]:
    """The bundle's path and its manifest's sha256, which pins every graph by its own hash, and what
    `--backend auto --precision auto` runs it on here, and why."""
    directory = Path(bundle_dir).resolve()
    choice = choose_engine(Bundle.open(directory, verify_all=False), AUTO, AUTO, None)
    return {"path": str(directory), "manifest_sha256": file_sha256(directory / MANIFEST_FILE), "auto_choice": choice.record()}


def library_versions() -> dict[str, str]:
    found = {}
    for name in LIBRARIES:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            continue
    return found


def gpu_description() -> dict[str, str] | None:
    """Name and compute capability of CUDA device 0, or None on a machine without a usable GPU."""
    from haris.runtime.cuda_memory import gpu_properties

    return gpu_properties(0)


def machine_summary(machine: dict[str, Any]) -> str:
    """One line for a Markdown report: CPU, cores, threads, GPU, the main libraries, the date."""
    gpu = machine.get("gpu")
    libraries = machine.get("libraries", {})
    threads = machine["threads"] or "default"
    flags = " ".join(machine.get("cpu_flags", [])) or "no flags read"
    parts = [f"{machine['cpu_model']} ({machine['cpu_cores']} cores, {threads} threads; {flags})"]
    parts.append(f"GPU {gpu['name']}" if gpu else "no GPU")
    parts += [f"{name} {libraries[name]}" for name in ("torch", "onnxruntime", "tensorrt", "tensorrt-rtx") if name in libraries]
    parts.append(machine["date"])
    return ", ".join(parts)


def _cpp_ops_backend() -> str:
    from haris import cpp_ops

    return cpp_ops.BACKEND
