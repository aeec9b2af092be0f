"""Stage times on a CUDA stream, from cuda-python events: the TensorRT backend's clock.

An event is recorded on the stream at each stage boundary; elapsed times are read after a later
wait, so timing adds no synchronization to the pipeline (see stage_clock).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from haris.runtime import cuda_memory
from haris.runtime.stage_clock import HostClock


class CudaEventClock(HostClock):
    kind = "CUDA events (cuda-python)"

    def __init__(self, stream: Any) -> None:
        self.stream, self.runtime = stream, cuda_memory.cuda_runtime()

    def mark(self) -> Any:
        event = cuda_memory.checked("cudaEventCreate", self.runtime.cudaEventCreate())
        cuda_memory.checked("cudaEventRecord", self.runtime.cudaEventRecord(event, self.stream))
        return event

    def wait(self, mark: Any) -> None:
        cuda_memory.checked("cudaEventSynchronize", self.runtime.cudaEventSynchronize(mark))

    def seconds(self, start: Any, end: Any) -> float:
        return cuda_memory.checked("cudaEventElapsedTime", self.runtime.cudaEventElapsedTime(start, end)) / 1000.0

    def release(self, marks: Iterable[Any]) -> None:
        for event in marks:
            cuda_memory.checked("cudaEventDestroy", self.runtime.cudaEventDestroy(event))
