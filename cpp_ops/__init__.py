"""haris.cpp_ops: fused C++ (CPU) and CUDA pre- and post-processing kernels for the runtime.

`preprocess_image` and `postprocess_mask` run the compiled CPU kernels (`_prepost`, built by the
package's install when a C++ compiler is present), multi-threaded with the GIL released. Without
them, or with the environment variable HARIS_CPP_OPS=numpy, they run the numpy reference
(`reference_ops`) after one warning per process. `BACKEND` says which runs: "cpp" or "numpy".

The CPU kernels reproduce the reference bit for bit: the resize is Pillow's fixed-point bilinear
resampler, the post-processing the reference's float32 blends in the same order. The CUDA
kernels, for buffers already on the GPU, come from `load_cuda_kernels()` (None when the package
was installed without nvcc). Importing this package imports no torch, onnx or tensorrt.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from types import ModuleType

import numpy as np

from haris.cpp_ops import reference_ops
from haris.cpp_ops.cuda_kernels import CudaKernels, load_cuda_kernels

__all__ = ["BACKEND", "CudaKernels", "load_cuda_kernels", "postprocess_mask", "preprocess_image"]


def _load_compiled_kernels() -> tuple[ModuleType | None, str]:
    """The compiled module, or None and why not."""
    if os.environ.get("HARIS_CPP_OPS", "").lower() == "numpy":
        return None, "HARIS_CPP_OPS=numpy asks for the numpy reference"
    try:
        from haris.cpp_ops import _prepost
    except ImportError as error:
        return None, f"the compiled kernels are not available ({error})"
    return _prepost, ""


_KERNELS, _FALLBACK_REASON = _load_compiled_kernels()
BACKEND: str = "cpp" if _KERNELS is not None else "numpy"
_fallback_warned = False


def _warn_fallback_once() -> None:
    # Once per process, not once per call site: a slow path is worth one line in a log, not one
    # line per image.
    global _fallback_warned
    if not _fallback_warned:
        _fallback_warned = True
        warnings.warn(f"haris.cpp_ops: {_FALLBACK_REASON}; using the slower numpy reference", RuntimeWarning, stacklevel=3)


def preprocess_image(
    image: np.ndarray,
    image_size: int,
    pixel_mean: Sequence[float],
    pixel_std: Sequence[float],
    threads: int | None = None,
) -> tuple[np.ndarray, tuple[int, int]]:
    """uint8 (H, W, 3) RGB -> float32 (3, S, S) model input (longest side resized to S as Pillow's
    bilinear resize does, normalized, padded bottom-right with zeros) and the resized (h, w).
    `threads`: worker threads, one per hardware thread when None."""
    if _KERNELS is None:
        _warn_fallback_once()
        return reference_ops.preprocess_image(image, image_size, pixel_mean, pixel_std)
    contiguous = reference_ops.check_image(image)
    return _KERNELS.preprocess_image(contiguous, image_size, tuple(pixel_mean), tuple(pixel_std), reference_ops.pillow_13_pass_order(), threads or 0)


def postprocess_mask(
    mask_logits: np.ndarray,
    resized: Sequence[int],
    original: Sequence[int],
    image_size: int,
    threshold: float = 0.0,
    return_logits: bool = False,
    threads: int | None = None,
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Low-resolution (lh, lw) logits -> bool (H, W) mask at the `original` size (logit > threshold):
    upsampled to S, cropped to `resized`, resized to `original`. With `return_logits`, returns
    (mask, float32 (H, W) logits). `threads`: worker threads, one per hardware thread when None."""
    if _KERNELS is None:
        _warn_fallback_once()
        return reference_ops.postprocess_mask(mask_logits, resized, original, image_size, threshold, return_logits)
    logits = reference_ops.check_logits(mask_logits, resized, original, image_size)
    return _KERNELS.postprocess_mask(logits, tuple(resized), tuple(original), image_size, threshold, return_logits, threads or 0)
