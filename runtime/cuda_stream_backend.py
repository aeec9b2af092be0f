"""What every backend whose stages keep DeviceTensors on one CUDA stream shares (the TensorRT backend).

Outputs are device tensors that the next stage reads in place; rows of a batch are views into them
(pointer offsets, no copy), joining rows copies device to device on the stream, host copies wait
for the stream, stage times come from events on it, and pre- and post-processing run next to the
stages with haris.cpp_ops' CUDA kernels where they can run.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from haris.runtime import cuda_memory
from haris.runtime.cuda_event_clock import CudaEventClock
from haris.runtime.device_prepost import DevicePrepost, device_prepost_on_stream
from haris.runtime.device_tensor import DeviceTensor
from haris.runtime.stage_backend import StageBackend


class CudaStreamBackend(StageBackend):
    stream: Any = None  # set by the subclass: the CUDA stream every stage, copy and kernel is enqueued on

    def to_numpy(self, value: Any) -> np.ndarray:
        if isinstance(value, DeviceTensor):
            return value.to_host(self.stream)
        return np.asarray(value)

    def keep(self, value: Any) -> Any:
        if isinstance(value, DeviceTensor):
            return value.copy(self.stream)
        return value

    def rows(self, value: Any, count: int) -> list[Any]:
        """Views of the rows of a device tensor (in its memory, valid as long as it is)."""
        if not isinstance(value, DeviceTensor):
            return super().rows(value, count)
        row_bytes = value.nbytes // count
        return [DeviceTensor(value.pointer + index * row_bytes, (1, *value.shape[1:]), value.dtype, row_bytes, owner=value) for index in range(count)]

    def concatenate(self, values: Sequence[Any]) -> Any:
        """Device tensors joined along their first axis, in a new allocation (copied on the stream)."""
        if not all(isinstance(value, DeviceTensor) for value in values):
            return super().concatenate(values)
        first = values[0]
        joined = DeviceTensor.allocate((sum(value.shape[0] for value in values), *first.shape[1:]), first.dtype)
        offset = 0
        for value in values:
            cuda_memory.copy_device_to_device(joined.pointer + offset, value.pointer, value.nbytes, self.stream)
            offset += value.nbytes
        return joined

    def clock(self) -> CudaEventClock:
        return CudaEventClock(self.stream)

    def device_prepost(self, image_size: int, pixel_mean: Sequence[float], pixel_std: Sequence[float]) -> DevicePrepost | None:
        """The CUDA kernels on this backend's stream, next to its buffers, where they can run."""
        return device_prepost_on_stream(self.stream, image_size, pixel_mean, pixel_std)
