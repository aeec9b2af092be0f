"""The onnxruntime backend: one session per stage, run with IOBinding so outputs stay on the device.

On the CPU the bound outputs are host memory; with the CUDA (or TensorRT) execution provider they
are OrtValues in GPU memory that the next stage binds as inputs without a copy. Sessions are
shared by all threads (onnxruntime's `run` is thread-safe); each run makes its own binding.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import onnxruntime

from haris.errors import HarisError
from haris.runtime.bundle import Bundle
from haris.runtime.onnxruntime_session import create_session
from haris.runtime.stage_backend import StageBackend
from haris.runtime.tensor_contract import STAGE_OUTPUTS, STAGES

ORT_ITEM_BYTES = {"tensor(float)": 4, "tensor(float16)": 2, "tensor(int32)": 4, "tensor(int64)": 8, "tensor(bool)": 1}
PROVIDERS = {
    "cpu": ["CPUExecutionProvider"],
    "cuda": ["CUDAExecutionProvider", "CPUExecutionProvider"],
    "tensorrt": ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"],
}


class OnnxRuntimeBackend(StageBackend):
    name = "onnxruntime"
    thread_safe = True

    def __init__(self, bundle: Bundle, precision: str = "fp32", device: str = "cpu", threads: int | None = None) -> None:
        super().__init__({stage: bundle.graph_spec(stage, precision) for stage in STAGES})
        providers = session_providers(device)
        kind, _, index = device.partition(":")
        self.device_id = int(index or 0)
        self.output_device = "cpu" if kind == "cpu" else "cuda"
        self.precision = precision
        self.sessions = {stage: create_session(str(bundle.graph_path(stage, precision)), providers, threads) for stage in STAGES}

    @classmethod
    def open(cls, bundle: Bundle, precision: str, device: str, threads: int | None) -> OnnxRuntimeBackend:
        return cls(bundle, precision, device, threads)

    def _run(self, stage: str, feeds: dict[str, Any]) -> dict[str, Any]:
        session = self.sessions[stage]
        binding = session.io_binding()
        for name, value in feeds.items():
            if isinstance(value, onnxruntime.OrtValue):
                binding.bind_ortvalue_input(name, value)
            else:
                binding.bind_cpu_input(name, np.ascontiguousarray(value))
        for name in STAGE_OUTPUTS[stage]:
            binding.bind_output(name, self.output_device, self.device_id)
        session.run_with_iobinding(binding)
        return dict(zip(STAGE_OUTPUTS[stage], binding.get_outputs()))

    def to_numpy(self, value: Any) -> np.ndarray:
        return value.numpy() if isinstance(value, onnxruntime.OrtValue) else np.asarray(value)

    def close(self) -> None:
        """Drop the sessions (onnxruntime frees their memory with them)."""
        self.sessions = {}

    def nbytes(self, value: Any) -> int:
        if isinstance(value, onnxruntime.OrtValue):
            return int(np.prod(value.shape())) * ORT_ITEM_BYTES[value.data_type()]
        return int(value.nbytes)


def session_providers(device: str) -> list[str | tuple[str, dict]]:
    """onnxruntime's execution providers for a HARIS device (`cpu`, `cuda:1`, `tensorrt`), in priority
    order; HarisError when the device is unknown or this onnxruntime lacks its provider."""
    kind, _, index = device.partition(":")
    if kind not in PROVIDERS:
        raise HarisError(f"onnxruntime device must be one of {', '.join(PROVIDERS)} (optionally ':N'), got {device!r}")
    missing = set(PROVIDERS[kind][:-1]) - set(onnxruntime.get_available_providers())
    if missing:
        raise HarisError(f"this onnxruntime has no {', '.join(sorted(missing))}; install onnxruntime-gpu for device {device!r}")
    return [(name, {"device_id": int(index or 0)}) if name != "CPUExecutionProvider" else name for name in PROVIDERS[kind]]
