"""A CUDA device simulated in host memory, to test the runtime's device-path plumbing on any machine.

`simulate_device(monkeypatch)` swaps haris.runtime.cuda_memory's allocations and copies for numpy
buffers and memmove, and haris.cpp_ops' CUDA launchers for `HostKernels`, which run the CPU kernels
on those buffers. Pointers, offsets, buffer sizes and the order of copies are then checked for real
(a wrong offset reads the wrong bytes); the CUDA kernels and cuda-python calls themselves are not:
the gpu tests check those.
"""

from __future__ import annotations

import ctypes
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest

import haris.cpp_ops as cpp_ops
from haris.runtime import cuda_memory
from haris.runtime.cuda_stream_backend import CudaStreamBackend
from haris.runtime.device_tensor import DeviceTensor
from haris.runtime.stage_backend import StageBackend


def read(pointer: int, shape: Sequence[int], dtype: type) -> np.ndarray:
    """A host copy of simulated device memory."""
    nbytes = int(np.prod(shape)) * np.dtype(dtype).itemsize
    return np.frombuffer((ctypes.c_char * nbytes).from_address(pointer), dtype).reshape(shape).copy()


def write(pointer: int, array: np.ndarray) -> None:
    array = np.ascontiguousarray(array)
    ctypes.memmove(pointer, array.ctypes.data, array.nbytes)


def copy_host_to_device(pointer: int, array: np.ndarray, stream: Any) -> None:
    write(pointer, array)


def copy_device_to_host(array: np.ndarray, pointer: int, stream: Any) -> None:
    array[...] = read(pointer, array.shape, array.dtype)


def copy_device_to_device(target: int, source: int, nbytes: int, stream: Any) -> None:
    ctypes.memmove(target, source, nbytes)


class HostKernels:
    """CudaKernels' launchers, run by the CPU kernels on simulated device memory."""

    def preprocess_image(self, image, height, width, image_size, pixel_mean, pixel_std, output, stream=0):
        model_input, resized = cpp_ops.preprocess_image(read(image, (height, width, 3), np.uint8), image_size, pixel_mean, pixel_std)
        write(output, model_input)
        return resized

    def postprocess_mask(self, mask_logits, logits_shape, resized, original, image_size, mask, threshold=0.0, logits_out=0, stream=0):
        logits = read(mask_logits, logits_shape, np.float32)
        write(mask, cpp_ops.postprocess_mask(logits, resized, original, image_size, threshold).view(np.uint8))


class SimulatedDevice:
    def __init__(self) -> None:
        self.buffers: dict[int, np.ndarray] = {}  # live allocations by address

    def allocate(self, nbytes: int) -> int:
        buffer = np.empty(max(nbytes, 1), np.uint8)
        self.buffers[buffer.ctypes.data] = buffer
        return buffer.ctypes.data

    def free(self, pointer: int) -> None:
        self.buffers.pop(pointer)


def simulate_device(monkeypatch: pytest.MonkeyPatch) -> SimulatedDevice:
    """Patch cuda_memory and the CUDA launchers onto host memory for the rest of the test."""
    device = SimulatedDevice()
    monkeypatch.setattr(cuda_memory, "allocate", device.allocate)
    monkeypatch.setattr(cuda_memory, "free", device.free)
    for copy in (copy_host_to_device, copy_device_to_host, copy_device_to_device):
        monkeypatch.setattr(cuda_memory, copy.__name__, copy)
    monkeypatch.setattr(cuda_memory, "synchronize", lambda stream: None)  # every "copy" above is done on return
    monkeypatch.setattr(cuda_memory, "gpu_properties", lambda device=0: {"name": "simulated", "compute_capability": "9.0"})
    monkeypatch.setattr(cpp_ops, "load_cuda_kernels", lambda: HostKernels())
    return device


class SimulatedTensorRT(CudaStreamBackend):
    """Another backend dressed as TensorRT's: takes and returns DeviceTensors in simulated memory, with
    everything else (rows, joins, host copies, device pre/post-processing) the TensorRT backend's own."""

    name = "tensorrt"
    thread_safe = False

    def __init__(self, inner: StageBackend) -> None:
        super().__init__(inner.specs)
        self.inner = inner
        self.stream = 0

    def _run(self, stage: str, feeds: dict[str, Any]) -> dict[str, Any]:
        host = {name: self.to_numpy(value) for name, value in feeds.items()}
        outputs = self.inner.run(stage, host)
        return {name: self._upload(self.inner.to_numpy(value)) for name, value in outputs.items()}

    def _upload(self, array: np.ndarray) -> DeviceTensor:
        return DeviceTensor.allocate(array.shape, array.dtype).copy_from_host(array, self.stream)
