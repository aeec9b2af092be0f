"""Pre- and post-processing on the GPU for the TensorRT backend: haris.cpp_ops' CUDA kernels on the
backend's stream, reading and writing the engines' device buffers.

On the host path the Predictor resizes and normalizes on the CPU, uploads the float32 (1, 3, S, S)
input, brings the decoder's logits back and upsamples them on the CPU. Here `preprocess` uploads
the uint8 (H, W, 3) image and writes the encoder's input on the device, and `postprocess`
thresholds the logits where the decoder left them, copying back the masks (one byte a pixel) and
the low-resolution logits that every Prediction carries. The kernels share their arithmetic with
the CPU ones, so both paths give the same shapes, dtypes and `logit > threshold` masks.

`device_prepost_for` picks this path for a TensorRT backend whose kernels can run; otherwise the
Predictor keeps the host path and, for a TensorRT backend, says why once per process. Nothing here
imports cuda-python or TensorRT before a DevicePrepost is made.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from haris import cpp_ops
from haris.cpp_ops import CudaKernels, reference_ops
from haris.errors import HarisError
from haris.runtime import cuda_memory
from haris.runtime.device_tensor import DeviceTensor
from haris.runtime.stage_backend import StageBackend

_host_path_warned = False


class DevicePrepost:
    """The CUDA pre- and post-processing of one Predictor, enqueued on `stream`.

    Its buffers are reused by every call (the byte buffers kept at the largest image seen), so calls
    must be serialized with the backend whose stream they share: the Predictor's backend lock.
    """

    def __init__(
        self, kernels: CudaKernels, stream: Any, image_size: int, pixel_mean: Sequence[float], pixel_std: Sequence[float]
    ) -> None:
        self.kernels = kernels
        self.stream = stream
        self.image_size = image_size
        self.pixel_mean = tuple(pixel_mean)
        self.pixel_std = tuple(pixel_std)
        # One input buffer for every image: stream order keeps the next image's kernel behind the
        # encoder run that reads this one.
        self.model_input = DeviceTensor.allocate((1, 3, image_size, image_size), np.float32)
        self._byte_buffers: dict[str, DeviceTensor] = {}

    def preprocess(self, image: np.ndarray) -> tuple[DeviceTensor, tuple[int, int]]:
        """uint8 (H, W, 3) RGB -> the encoder's float32 (1, 3, S, S) input on the device (this object's
        buffer, overwritten by the next call) and the resized (h, w)."""
        pixels = reference_ops.check_image(image)
        upload = self._byte_buffer("image", pixels.nbytes).copy_from_host(pixels, self.stream)
        height, width = pixels.shape[:2]
        resized = self.kernels.preprocess_image(
            upload.pointer, height, width, self.image_size, self.pixel_mean, self.pixel_std, self.model_input.pointer, self.stream
        )
        return self.model_input, resized

    def postprocess(
        self, mask_logits: Any, resized: Sequence[int], original: Sequence[int], threshold: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """The decoder's float32 (B, 1, lh, lw) logits on the device -> bool (B, H, W) masks at the
        `original` size (logit > threshold) and the logits, both on the host."""
        batch, low_height, low_width = check_mask_logits(mask_logits)
        reference_ops.check_mask_sizes(resized, original, self.image_size)
        height, width = original
        masks = np.empty((batch, height, width), np.uint8)
        device_mask = self._byte_buffer("mask", height * width)
        plane_bytes = low_height * low_width * mask_logits.dtype.itemsize
        for index in range(batch):
            self.kernels.postprocess_mask(
                mask_logits.pointer + index * plane_bytes, (low_height, low_width), resized, original, self.image_size,
                device_mask.pointer, threshold, stream=self.stream,
            )
            # Copied out in stream order, so the next expression's kernel may reuse the one buffer.
            cuda_memory.copy_device_to_host(masks[index], device_mask.pointer, self.stream)
        logits = mask_logits.to_host(self.stream)  # waits for the stream: the mask copies are done too
        return masks.view(np.bool_), logits  # the kernel writes bytes 0/1, numpy's bool layout

    def _byte_buffer(self, name: str, nbytes: int) -> DeviceTensor:
        """A uint8 device buffer of at least `nbytes`, reused between calls and grown when too small."""
        buffer = self._byte_buffers.get(name)
        if buffer is None or buffer.capacity < nbytes:
            if buffer is not None:
                cuda_memory.synchronize(self.stream)  # work already enqueued may still read the old one
                buffer.release()
            buffer = self._byte_buffers[name] = DeviceTensor.allocate((nbytes,), np.uint8)
        return buffer


def check_mask_logits(value: Any) -> tuple[int, int, int]:
    """(B, lh, lw) of decoder logits held on the device; HarisError for anything else."""
    if not isinstance(value, DeviceTensor):
        raise HarisError(f"device post-processing takes the decoder's logits as a DeviceTensor, got {type(value).__name__}")
    if value.dtype != np.float32 or value.ndim != 4 or value.shape[1] != 1 or 0 in value.shape:
        raise HarisError(f"expected float32 mask logits (B, 1, S/4, S/4), got {value.dtype} {value.shape}")
    batch, _, low_height, low_width = value.shape
    return batch, low_height, low_width


def device_prepost_for(
    backend: StageBackend, image_size: int, pixel_mean: Sequence[float], pixel_std: Sequence[float]
) -> DevicePrepost | None:
    """Device pre/post-processing on a TensorRT backend's stream, or None for the host path: every
    other backend keeps its tensors where the CPU kernels read them, and a TensorRT backend whose
    CUDA kernels cannot run falls back with one warning per process."""
    if backend.name != "tensorrt":
        return None
    kernels, reason = cuda_kernels()
    if kernels is None:
        _warn_host_path_once(reason)
        return None
    return DevicePrepost(kernels, backend.stream, image_size, pixel_mean, pixel_std)


def cuda_kernels() -> tuple[CudaKernels | None, str]:
    """The CUDA launchers, or None and why they cannot run here. A library that is there but does not
    load raises (cpp_ops.load_cuda_kernels): a broken install, not a reason to fall back."""
    if os.environ.get("HARIS_CPP_OPS", "").lower() == "numpy":
        return None, "HARIS_CPP_OPS=numpy asks for the numpy reference"
    kernels = cpp_ops.load_cuda_kernels()
    if kernels is None:
        return None, "the CUDA kernels library was not built (no nvcc when haris was installed)"
    if cuda_memory.gpu_properties() is None:
        return None, "CUDA is not usable here (no cuda-python, driver or GPU)"
    return kernels, ""


def _warn_host_path_once(reason: str) -> None:
    # Once per process, as haris.cpp_ops warns about its own fallback: a slower path is worth one
    # line in a log, not one per Predictor.
    global _host_path_warned
    if not _host_path_warned:
        _host_path_warned = True
        warnings.warn(f"haris.runtime: TensorRT pre- and post-processing run on the host: {reason}", RuntimeWarning, stacklevel=3)
