"""A tensor in CUDA device memory: what the TensorRT backend passes between stages.

Stage outputs stay on the device so the next stage reads them in place; only `to_host` brings one
back. A DeviceTensor either owns its allocation (freed when it is garbage-collected, or by
`release`) or is a view of a larger one (a stage's output buffer, allocated once at the profile's
maximum shape and viewed at each run's actual shape); a view keeps its owner alive.
"""

from __future__ import annotations

import math
import weakref
from typing import Any

import numpy as np

from haris.errors import HarisError
from haris.runtime import cuda_memory


class DeviceTensor:
    def __init__(self, pointer: int, shape: tuple[int, ...], dtype: np.dtype, capacity: int, owner: DeviceTensor | None = None) -> None:
        self.pointer = pointer
        self.shape = tuple(int(dim) for dim in shape)
        self.dtype = np.dtype(dtype)
        self.capacity = capacity  # bytes usable from `pointer`
        self._owner = owner  # a view holds its owner so the memory outlives the view
        self._release = None
        if self.nbytes > capacity:
            raise HarisError(f"a device tensor of shape {self.shape} ({self.nbytes} bytes) does not fit in {capacity} bytes")

    @classmethod
    def allocate(cls, shape: tuple[int, ...], dtype: np.dtype) -> DeviceTensor:
        nbytes = math.prod(shape) * np.dtype(dtype).itemsize
        tensor = cls(cuda_memory.allocate(nbytes), shape, dtype, nbytes)
        tensor._release = weakref.finalize(tensor, cuda_memory.free, tensor.pointer)
        # At interpreter exit the CUDA runtime may already be unloading; the driver reclaims the
        # process's memory anyway, so only collection during the run frees explicitly.
        tensor._release.atexit = False
        return tensor

    @property
    def nbytes(self) -> int:
        return math.prod(self.shape) * self.dtype.itemsize

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def view(self, shape: tuple[int, ...]) -> DeviceTensor:
        """The first elements of this memory seen with `shape` (no copy)."""
        return DeviceTensor(self.pointer, shape, self.dtype, self.capacity, owner=self._owner or self)

    def copy_from_host(self, array: np.ndarray, stream: Any) -> DeviceTensor:
        """Enqueue `array` into this memory and return the view of its shape."""
        array = np.ascontiguousarray(array, dtype=self.dtype)
        target = self.view(array.shape)
        cuda_memory.copy_host_to_device(target.pointer, array, stream)
        return target

    def to_host(self, stream: Any) -> np.ndarray:
        """A numpy copy; waits for the stream, so every enqueued producer has finished."""
        array = np.empty(self.shape, dtype=self.dtype)
        cuda_memory.copy_device_to_host(array, self.pointer, stream)
        cuda_memory.synchronize(stream)
        return array

    def copy(self, stream: Any) -> DeviceTensor:
        """A fresh allocation holding this tensor's values (enqueued on `stream`)."""
        duplicate = DeviceTensor.allocate(self.shape, self.dtype)
        cuda_memory.copy_device_to_device(duplicate.pointer, self.pointer, self.nbytes, stream)
        return duplicate

    def release(self) -> None:
        """Free an owned allocation now rather than at garbage collection."""
        if self._release is not None:
            self._release()

    def __repr__(self) -> str:
        return f"DeviceTensor(shape={self.shape}, dtype={self.dtype}, pointer={self.pointer:#x})"
