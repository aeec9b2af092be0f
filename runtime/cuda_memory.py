"""CUDA device memory, copies and streams through cuda-python's runtime bindings.

`cuda.bindings.runtime` (pip `cuda-python`) is NVIDIA's own binding of the CUDA runtime API: no
torch, and unlike pycuda it needs no CUDA headers to install (pycuda does not build on machines
without them). TensorRT uses the same runtime API, so both share the device's
primary context. Every call returns a cudaError_t first; `checked` turns any failure into a
HarisError naming the call and CUDA's own error name and text. The binding is imported on first
use, so importing this module (and haris.runtime) stays light.
"""

from __future__ import annotations

import functools
from types import ModuleType
from typing import Any

import numpy as np

from haris.errors import HarisError


@functools.cache
def cuda_runtime() -> ModuleType:
    try:
        from cuda.bindings import runtime
    except ImportError as error:
        raise HarisError(f"the TensorRT backend needs cuda-python's runtime bindings ({error}); `pip install cuda-python`") from None
    return runtime


def checked(call: str, result: tuple[Any, ...]) -> Any:
    """The value(s) after the cudaError_t of `result`, or a HarisError when it is not cudaSuccess."""
    error, *values = result
    if error != cuda_runtime().cudaError_t.cudaSuccess:
        raise HarisError(f"CUDA {call} failed: {describe_error(error)}")
    return values[0] if len(values) == 1 else tuple(values) or None


def describe_error(error: Any) -> str:
    runtime = cuda_runtime()
    _, name = runtime.cudaGetErrorName(error)
    _, text = runtime.cudaGetErrorString(error)
    return f"{name.decode()} ({text.decode()})"


def gpu_properties(device: int = 0) -> dict[str, str] | None:
    """Name and compute capability of `device`, or None when there is no usable CUDA GPU.

    No driver, no device, or a driver older than the runtime all mean "no GPU" here: callers
    record that (an ahead-of-time build) or refuse with their own message (the backend).
    """
    try:
        runtime = cuda_runtime()
    except HarisError:
        return None
    error, count = runtime.cudaGetDeviceCount()
    if error != runtime.cudaError_t.cudaSuccess or device >= count:
        return None
    properties = checked("cudaGetDeviceProperties", runtime.cudaGetDeviceProperties(device))
    name = properties.name.split(b"\0", 1)[0].decode(errors="replace").strip()
    return {"name": name, "compute_capability": f"{properties.major}.{properties.minor}"}


def select_device(device: int) -> None:
    checked("cudaSetDevice", cuda_runtime().cudaSetDevice(device))


def allocate(nbytes: int) -> int:
    """A device allocation of at least one byte (TensorRT refuses null tensor addresses)."""
    return int(checked("cudaMalloc", cuda_runtime().cudaMalloc(max(nbytes, 1))))


def free(pointer: int) -> None:
    checked("cudaFree", cuda_runtime().cudaFree(pointer))


def create_stream() -> Any:
    # Non-blocking: no implicit synchronization with the legacy default stream other code may use.
    runtime = cuda_runtime()
    return checked("cudaStreamCreateWithFlags", runtime.cudaStreamCreateWithFlags(runtime.cudaStreamNonBlocking))


def destroy_stream(stream: Any) -> None:
    checked("cudaStreamDestroy", cuda_runtime().cudaStreamDestroy(stream))


def synchronize(stream: Any) -> None:
    checked("cudaStreamSynchronize", cuda_runtime().cudaStreamSynchronize(stream))


def copy_host_to_device(pointer: int, array: np.ndarray, stream: Any) -> None:
    """Enqueue a copy of a C-contiguous array to `pointer`.

    From pageable memory CUDA stages the source before the call returns, so the array may be
    released right after; the device copy completes in stream order.
    """
    runtime = cuda_runtime()
    kind = runtime.cudaMemcpyKind.cudaMemcpyHostToDevice
    checked("cudaMemcpyAsync", runtime.cudaMemcpyAsync(pointer, array.ctypes.data, array.nbytes, kind, stream))


def copy_device_to_host(array: np.ndarray, pointer: int, stream: Any) -> None:
    """Enqueue a copy into a C-contiguous array; it is complete after `synchronize(stream)`."""
    runtime = cuda_runtime()
    kind = runtime.cudaMemcpyKind.cudaMemcpyDeviceToHost
    checked("cudaMemcpyAsync", runtime.cudaMemcpyAsync(array.ctypes.data, pointer, array.nbytes, kind, stream))


def copy_device_to_device(destination: int, source: int, nbytes: int, stream: Any) -> None:
    runtime = cuda_runtime()
    kind = runtime.cudaMemcpyKind.cudaMemcpyDeviceToDevice
    checked("cudaMemcpyAsync", runtime.cudaMemcpyAsync(destination, source, nbytes, kind, stream))


def stream_handle(stream: Any) -> int:
    """The raw cudaStream_t TensorRT's execute_async_v3 takes."""
    return int(stream)
