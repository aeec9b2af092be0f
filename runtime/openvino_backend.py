"""The OpenVINO backend: the bundle's ONNX stage graphs, as they are, on OpenVINO's CPU plugin.

Three precisions from two sets of graphs:
- `fp32`: the FP32 graphs in f32;
- `bf16`: the same FP32 graphs with BF16 as the inference precision (OpenVINO keeps the ops that
  need range, such as softmax and normalisation statistics, in f32). Only where the CPU has BF16
  instructions (AVX512-BF16, AMX): elsewhere OpenVINO would quietly run f32, so it is refused;
- `int8`: the INT8 Q/DQ graphs, their float rest in BF16 where the CPU runs it natively, else f32.

Compiled models are kept in OpenVINO's model cache (`cache_dir`, by default the user's:
runtime/cache_folder.py); the cache is keyed by the graph, the settings and the CPU, so a second
start skips compiling and a changed bundle or CPU compiles anew.
Each stage holds a pool of infer requests, one per concurrent caller, so one backend serves
several threads. Outputs are host arrays owned by the caller (OpenVINO copies them out of its
buffers), so `keep` and row views need no copy. Importing this module imports neither torch nor
onnxruntime.
"""

from __future__ import annotations

import queue
from pathlib import Path
from typing import Any

import numpy as np
import openvino

from haris.cpu_features import cpu_features
from haris.errors import HarisError
from haris.runtime.backend_registry import BACKENDS
from haris.runtime.bundle import Bundle
from haris.runtime.cache_folder import cache_folder
from haris.runtime.engine_choice import require_native_bf16
from haris.runtime.stage_backend import StageBackend
from haris.runtime.tensor_contract import STAGE_OUTPUTS, STAGES

DEVICE = "CPU"


class OpenVinoBackend(StageBackend):
    name = "openvino"
    thread_safe = True

    def __init__(self, bundle: Bundle, precision: str = "fp32", threads: int | None = None, cache_dir: str | Path | None = None) -> None:
        entry = BACKENDS[self.name]
        entry.check(precision, "cpu")
        graphs = entry.graph_precision(precision)
        super().__init__({stage: bundle.graph_spec(stage, graphs) for stage in STAGES})
        core = openvino.Core()
        self.inference_precision = inference_precision(precision, core.get_property(DEVICE, "OPTIMIZATION_CAPABILITIES"))
        self.cache_dir = Path(cache_dir) if cache_dir else cache_folder("openvino")
        core.set_property({"CACHE_DIR": str(self.cache_dir)})
        config: dict[str, Any] = {"INFERENCE_PRECISION_HINT": self.inference_precision, "PERFORMANCE_HINT": "LATENCY"}
        if threads:
            config["INFERENCE_NUM_THREADS"] = threads
        self.precision = precision
        self.models = {stage: core.compile_model(str(bundle.graph_path(stage, graphs)), DEVICE, config) for stage in STAGES}
        self._idle: dict[str, queue.SimpleQueue] = {stage: queue.SimpleQueue() for stage in STAGES}

    @classmethod
    def open(cls, bundle: Bundle, precision: str, device: str, threads: int | None) -> OpenVinoBackend:
        BACKENDS[cls.name].check(precision, device)
        return cls(bundle, precision, threads)

    def _run(self, stage: str, feeds: dict[str, Any]) -> dict[str, Any]:
        idle = self._idle[stage]
        try:
            request = idle.get_nowait()
        except queue.Empty:  # every request of this stage is busy in another thread: one more
            request = self.models[stage].create_infer_request()
        try:
            results = request.infer({name: np.ascontiguousarray(value) for name, value in feeds.items()}, share_inputs=True)
            return {name: results[name] for name in STAGE_OUTPUTS[stage]}
        finally:
            idle.put(request)

    def to_numpy(self, value: Any) -> np.ndarray:
        return np.asarray(value)

    def close(self) -> None:
        """Drop the compiled models and their requests (OpenVINO frees their memory with them)."""
        self._idle = {}
        self.models = {}


def inference_precision(precision: str, capabilities: list[str]) -> str:
    """OpenVINO's inference precision for a HARIS precision on this CPU; HarisError for BF16 where
    the CPU has no BF16 instructions (OpenVINO would run f32 instead without a word)."""
    native_bf16 = "BF16" in capabilities and cpu_features().native_bf16
    if precision == "bf16":
        require_native_bf16("openvino:bf16", cpu_features())
        if not native_bf16:  # the CPU has the instructions, but this OpenVINO does not use them
            raise HarisError(f"this OpenVINO ({openvino.__version__}) does not run BF16 on this CPU: use openvino:fp32")
    if precision == "int8":
        return "bf16" if native_bf16 else "f32"  # the float rest of the INT8 graphs
    return "bf16" if precision == "bf16" else "f32"
