"""The CUDA kernels of cpp_ops on device pointers, for the TensorRT path.

They live in `_prepost_cuda.so`, a plain shared library with `extern "C"` launchers loaded with
ctypes, not in the pybind module: that module must import on machines without CUDA, and a library
linked to the CUDA runtime would not. The library carries the CUDA runtime statically (nvcc's
default), so it needs only the driver, and it is loaded only when asked for. Pointers are plain
integers, e.g. from cuda-python's `cudaMalloc`; a stream is a `cudaStream_t` or its integer value
(0: the default stream). The kernels run on the calling thread's current device.
"""

from __future__ import annotations

import ctypes
from collections.abc import Sequence
from functools import cache
from pathlib import Path

from haris.cpp_ops.reference_ops import pillow_13_pass_order

LIBRARY = Path(__file__).with_name("_prepost_cuda.so")
_INT = ctypes.c_int
_POINTER = ctypes.c_void_p
_FLOATS = ctypes.POINTER(ctypes.c_float)


class CudaKernels:
    """Launchers of the pre- and post-processing kernels; each only enqueues work on the stream."""

    def __init__(self, library: ctypes.CDLL) -> None:
        self._library = library
        library.haris_preprocess_cuda.argtypes = [_POINTER, _INT, _INT, _INT, _FLOATS, _FLOATS, _INT, _POINTER, _POINTER, ctypes.POINTER(_INT)]
        library.haris_postprocess_cuda.argtypes = [_POINTER, *[_INT] * 7, ctypes.c_float, _POINTER, _POINTER, _POINTER]
        library.haris_cuda_error_string.argtypes = [_INT]
        library.haris_cuda_error_string.restype = ctypes.c_char_p

    def preprocess_image(
        self,
        image: int,
        height: int,
        width: int,
        image_size: int,
        pixel_mean: Sequence[float],
        pixel_std: Sequence[float],
        output: int,
        stream: object = 0,
    ) -> tuple[int, int]:
        """uint8 (H, W, 3) at `image` -> float32 (3, S, S) at `output`; returns the resized (h, w)."""
        resized = (_INT * 2)()
        mean, std = (ctypes.c_float * 3)(*pixel_mean), (ctypes.c_float * 3)(*pixel_std)
        pass_order = int(pillow_13_pass_order())
        error = self._library.haris_preprocess_cuda(image, height, width, image_size, mean, std, pass_order, output, _handle(stream), resized)
        self._check(error, "preprocess")
        return resized[0], resized[1]

    def postprocess_mask(
        self,
        mask_logits: int,
        logits_shape: Sequence[int],
        resized: Sequence[int],
        original: Sequence[int],
        image_size: int,
        mask: int,
        threshold: float = 0.0,
        logits_out: int = 0,
        stream: object = 0,
    ) -> None:
        """float32 (lh, lw) at `mask_logits` -> (H, W) bytes 0/1 at `mask` (logit > threshold), and the
        float32 (H, W) logits at `logits_out` unless it is 0."""
        sizes = (*logits_shape, image_size, *resized, *original)
        error = self._library.haris_postprocess_cuda(mask_logits, *sizes, threshold, mask, logits_out or None, _handle(stream))
        self._check(error, "postprocess")

    def _check(self, error: int, kernel: str) -> None:
        if error != 0:
            message = self._library.haris_cuda_error_string(error).decode()
            raise RuntimeError(f"haris.cpp_ops CUDA {kernel} failed: {message} (cudaError {error})")


def _handle(stream: object) -> int | None:
    # cuda-python's cudaStream_t converts with int(); ctypes wants None for a null pointer.
    return int(stream) or None


@cache
def load_cuda_kernels() -> CudaKernels | None:
    """The CUDA launchers, or None when the library was not built (no nvcc at install). A library that
    is there but does not load raises the loader's OSError: that is a broken install, not a choice."""
    if not LIBRARY.is_file():
        return None
    return CudaKernels(ctypes.CDLL(str(LIBRARY)))
