"""Which TensorRT builds the engines: `tensorrt` (10.x, 11.x) or `tensorrt_rtx` (TensorRT for RTX).

Both ship the same Python API shape (Builder, OnnxParser, Runtime), with differences that
`EngineBuilder` handles: TensorRT 10 needs the STRONGLY_TYPED network flag, 11 and RTX are strongly
typed only; RTX compiles ahead of time without a GPU and finishes kernels just in time on the GPU.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from haris.errors import ExportError

FLAVORS = ("tensorrt", "tensorrt_rtx")
PIP_PACKAGES = {"tensorrt": "tensorrt", "tensorrt_rtx": "tensorrt-rtx"}


def import_tensorrt(flavor: str = "auto") -> tuple[ModuleType, str]:
    """The TensorRT module and its flavour name; "auto" prefers the data-centre `tensorrt`."""
    if flavor not in ("auto", *FLAVORS):
        raise ExportError(f"unknown TensorRT flavour {flavor!r}; choose auto, {', '.join(FLAVORS)}")
    candidates = FLAVORS if flavor == "auto" else (flavor,)
    failures = []
    for name in candidates:
        try:
            return importlib.import_module(name), name
        except ImportError as error:  # also a broken install whose native library fails to load
            failures.append(f"{name}: {error}")
    wanted = " or ".join(f"`pip install {PIP_PACKAGES[name]}`" for name in candidates)
    raise ExportError(f"TensorRT is not installed ({'; '.join(failures)}); install it with {wanted}")


def tensorrt_major(trt: ModuleType) -> int:
    """The major version: 10 and 11 for `tensorrt`, 1 for `tensorrt_rtx`."""
    return int(trt.__version__.split(".")[0])
