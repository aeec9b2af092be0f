"""Every backend HARIS runs, in one table: what it runs, at which precisions, on which devices.

The Predictor factory, the CLI's choice lists, the benchmarks, `haris serve` and `haris app` all
read this table, so adding a backend is one entry here plus its StageBackend class. A backend's
module is imported only when it is opened (`backend_class`), so a deployment loads the one library
it uses; `installed` asks only whether that library could be imported.

A backend's precision names what it computes in; `graph_precision` names the bundle graphs it
reads for it. OpenVINO's BF16 runs the FP32 graphs with BF16 as its inference precision.
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from haris.errors import HarisError

if TYPE_CHECKING:
    from haris.runtime.stage_backend import StageBackend

AUTO = "auto"  # --backend auto / --precision auto: chosen from the machine (runtime/engine_choice.py)


@dataclass(frozen=True)
class BackendEntry:
    name: str
    module: str  # where its StageBackend class lives, imported when the backend is opened
    class_name: str
    libraries: tuple[str, ...]  # import names, any one of which runs it
    extra: str  # `pip install "haris[<extra>]"` brings the library
    precisions: tuple[str, ...]
    devices: tuple[str, ...]  # device kinds, each optionally with ':N'
    default_device: str
    runs: str  # "bundle" (ONNX graphs or engines) or "checkpoint" (the model itself)
    graphs: dict[str, str] = field(default_factory=dict)  # precision -> bundle graphs it reads, where they differ

    def graph_precision(self, precision: str) -> str:
        return self.graphs.get(precision, precision)

    def installed(self) -> bool:
        return any(importlib.util.find_spec(library) is not None for library in self.libraries)

    def backend_class(self) -> type[StageBackend]:
        return getattr(importlib.import_module(self.module), self.class_name)

    def check(self, precision: str, device: str) -> None:
        """HarisError naming the choices when this backend cannot run `precision` on `device`."""
        if precision not in self.precisions:
            raise HarisError(f"the {self.name} backend runs precisions {', '.join(self.precisions)}, not {precision!r}")
        if device.partition(":")[0] not in self.devices:
            raise HarisError(f"the {self.name} backend runs on {' or '.join(self.devices)} (optionally ':N'), not {device!r}")


BACKENDS: dict[str, BackendEntry] = {
    entry.name: entry
    for entry in (
        BackendEntry(
            "onnxruntime",
            "haris.runtime.onnxruntime_backend",
            "OnnxRuntimeBackend",
            ("onnxruntime",),
            "runtime",
            ("fp32", "fp16", "int8"),
            ("cpu", "cuda", "tensorrt"),
            "cpu",
            "bundle",
        ),
        BackendEntry(
            "openvino",
            "haris.runtime.openvino_backend",
            "OpenVinoBackend",
            ("openvino",),
            "openvino",
            ("fp32", "bf16", "int8"),
            ("cpu",),
            "cpu",
            "bundle",
            graphs={"bf16": "fp32"},
        ),
        BackendEntry(
            "tensorrt",
            "haris.runtime.tensorrt_backend",
            "TensorRTBackend",
            ("tensorrt", "tensorrt_rtx"),
            "gpu",
            ("fp16", "fp32", "int8"),
            ("cuda",),
            "cuda:0",
            "bundle",
        ),
        BackendEntry(
            "torch",
            "haris.runtime.torch_backend",
            "TorchBackend",
            ("torch",),
            "train",
            ("fp32", "bf16", "fp16"),
            ("cpu", "cuda"),
            "cpu",
            "checkpoint",
        ),
    )
}
# Every precision some backend computes in, in the order choice lists show them.
COMPUTE_PRECISIONS = tuple(dict.fromkeys(precision for entry in BACKENDS.values() for precision in entry.precisions))
BUNDLE_BACKENDS = tuple(name for name, entry in BACKENDS.items() if entry.runs == "bundle")


def backend_entry(name: str) -> BackendEntry:
    try:
        return BACKENDS[name]
    except KeyError:
        raise HarisError(f"unknown backend {name!r}; choose from {', '.join(BACKENDS)} (or {AUTO})") from None
