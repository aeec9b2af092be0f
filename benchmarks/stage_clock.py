"""Clocks for stage latencies: the host's, or CUDA events on the stream a backend runs on.

A GPU backend returns from `run` as soon as its work is queued, so host time around a stage
measures the launch, not the work, and synchronizing after every stage to fix that would stall
the pipeline the benchmark claims to measure. Instead a CUDA clock records an event on the
backend's stream at each stage boundary and reads the elapsed times once per iteration, after
the results were needed on the host anyway: no synchronization is added.

- HostClock: `time.perf_counter`; right for CPU backends and for onnxruntime (its `run` returns
  when the outputs are ready, also with the CUDA provider).
- TorchEventClock: `torch.cuda.Event` on torch's current stream (eager torch on a GPU).
- CudaRuntimeEventClock: cuda-python events on the TensorRT backend's own stream.

Marks are opaque; `seconds(start, end)` is valid once `wait(end)` (or any later wait) returned,
and `release` frees a batch of marks after reading them.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any


class HostClock:
    kind = "host clock"

    def mark(self) -> Any:
        return time.perf_counter()

    def wait(self, mark: Any) -> None:
        """Nothing to wait for: a host mark is taken when the work before it has finished."""

    def seconds(self, start: Any, end: Any) -> float:
        return end - start

    def release(self, marks: Iterable[Any]) -> None:
        """Host marks are plain floats."""


class TorchEventClock(HostClock):
    kind = "CUDA events (torch)"

    def __init__(self) -> None:
        import torch

        self.torch = torch

    def mark(self) -> Any:
        event = self.torch.cuda.Event(enable_timing=True)
        event.record()
        return event

    def wait(self, mark: Any) -> None:
        mark.synchronize()

    def seconds(self, start: Any, end: Any) -> float:
        return start.elapsed_time(end) / 1000.0  # milliseconds


class CudaRuntimeEventClock(HostClock):
    kind = "CUDA events (cuda-python)"

    def __init__(self, stream: Any) -> None:
        from haris.runtime.cuda_memory import checked, cuda_runtime

        self.stream, self.runtime, self.checked = stream, cuda_runtime(), checked

    def mark(self) -> Any:
        event = self.checked("cudaEventCreate", self.runtime.cudaEventCreate())
        self.checked("cudaEventRecord", self.runtime.cudaEventRecord(event, self.stream))
        return event

    def wait(self, mark: Any) -> None:
        self.checked("cudaEventSynchronize", self.runtime.cudaEventSynchronize(mark))

    def seconds(self, start: Any, end: Any) -> float:
        return self.checked("cudaEventElapsedTime", self.runtime.cudaEventElapsedTime(start, end)) / 1000.0

    def release(self, marks: Iterable[Any]) -> None:
        for event in marks:
            self.checked("cudaEventDestroy", self.runtime.cudaEventDestroy(event))


def clock_for(backend: Any) -> HostClock:
    """The clock that measures `backend`'s stage work where it runs."""
    if backend.name == "tensorrt":
        return CudaRuntimeEventClock(backend.stream)
    device = getattr(backend, "device", None)
    if backend.name == "torch" and getattr(device, "type", "cpu") == "cuda":
        return TorchEventClock()
    return HostClock()
