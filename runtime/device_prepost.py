"""Pre- and post-processing on the GPU for the TensorRT backend: haris.cpp_ops' CUDA kernels on the
backend's stream, reading and writing the engines' device buffers.

On the host path the Predictor resizes and normalizes on the CPU, uploads the float32 (N, 3, S, S)
input, brings the decoder's logits back and upsamples them on the CPU. Here `preprocess` uploads
each uint8 (H, W, 3) image and writes its row of the encoder's input on the device, and
`postprocess` thresholds the logits where the decoder left them, copying back the masks (one byte
a pixel) and the low-resolution logits that every Prediction carries. The kernels share their
arithmetic with the CPU ones, so both paths give the same shapes, dtypes and `logit > threshold`
masks.

A backend on a CUDA stream offers this path through `device_prepost_on_stream` when the kernels
can run; otherwise the Predictor keeps the host path, and this module says why once per process.
Nothing here imports cuda-python or TensorRT before a DevicePrepost is made.
"""

from __future__ import annotations

import math
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

_host_path_warned = False


class DevicePrepost:
    """The CUDA pre- and post-processing of one Predictor, enqueued on `stream`.

    Its buffers are reused by every call (kept at the largest image and batch seen), so calls must
    be serialized with the backend whose stream they share: the Predictor's backend lock.
    """

    def __init__(self, kernels: CudaKernels, stream: Any, image_size: int, pixel_mean: Sequence[float], pixel_std: Sequence[float]) -> None:
        self.kernels = kernels
        self.stream = stream
        self.image_size = image_size
        self.pixel_mean = tuple(pixel_mean)
        self.pixel_std = tuple(pixel_std)
        # One input buffer for every batch of images: stream order keeps the next batch's kernels
        # behind the encoder run that reads this one.
        self.model_input = DeviceTensor.allocate((1, 3, image_size, image_size), np.float32)
        self._byte_buffers: dict[str, DeviceTensor] = {}

    def preprocess(self, images: Sequence[np.ndarray]) -> tuple[DeviceTensor, list[tuple[int, int]]]:
        """uint8 (H, W, 3) RGB images -> the encoder's float32 (N, 3, S, S) input on the device (this
        object's buffer, overwritten by the next call) and each image's resized (h, w)."""
        model_input = self._model_input(len(images))
        plane_bytes = model_input.nbytes // len(images)
        sizes = []
        for row, image in enumerate(images):
            pixels = reference_ops.check_image(image)
            # One upload buffer: stream order runs this image's kernel before the next upload overwrites it.
            upload = self._byte_buffer("image", pixels.nbytes).copy_from_host(pixels, self.stream)
            height, width = pixels.shape[:2]
            sizes.append(
                self.kernels.preprocess_image(
                    upload.pointer,
                    height,
                    width,
                    self.image_size,
                    self.pixel_mean,
                    self.pixel_std,
                    model_input.pointer + row * plane_bytes,
                    self.stream,
                )
            )
        return model_input, sizes

    def postprocess(
        self, mask_logits: Any, sizes: Sequence[tuple[Sequence[int], Sequence[int]]], threshold: float
    ) -> tuple[list[np.ndarray], np.ndarray]:
        """The decoder's float32 (B, 1, lh, lw) logits on the device, and each row's (resized, original)
        image sizes -> per row a bool (H, W) mask at its original size (logit > threshold), and the
        logits, all on the host."""
        batch, low_height, low_width = check_mask_logits(mask_logits)
        if len(sizes) != batch:
            raise HarisError(f"{batch} rows of mask logits need {batch} image sizes, got {len(sizes)}")
        plane_bytes = low_height * low_width * mask_logits.dtype.itemsize
        masks = []
        for index, (resized, original) in enumerate(sizes):
            reference_ops.check_mask_sizes(resized, original, self.image_size)
            mask = np.empty(tuple(original), np.uint8)
            device_mask = self._byte_buffer("mask", mask.nbytes)
            self.kernels.postprocess_mask(
                mask_logits.pointer + index * plane_bytes,
                (low_height, low_width),
                resized,
                original,
                self.image_size,
                device_mask.pointer,
                threshold,
                stream=self.stream,
            )
            # Copied out in stream order, so the next expression's kernel may reuse the one buffer.
            cuda_memory.copy_device_to_host(mask, device_mask.pointer, self.stream)
            masks.append(mask)
        logits = mask_logits.to_host(self.stream)  # waits for the stream: the mask copies are done too
        return [mask.view(np.bool_) for mask in masks], logits  # the kernel writes bytes 0/1, numpy's bool layout

    def _model_input(self, images: int) -> DeviceTensor:
        """The (images, 3, S, S) input, in a buffer grown when a larger batch comes."""
        shape = (images, 3, self.image_size, self.image_size)
        if self.model_input.capacity < math.prod(shape) * 4:
            cuda_memory.synchronize(self.stream)  # the encoder may still read the old buffer
            self.model_input.release()
            self.model_input = DeviceTensor.allocate(shape, np.float32)
        return self.model_input.view(shape)

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


def device_prepost_on_stream(stream: Any, image_size: int, pixel_mean: Sequence[float], pixel_std: Sequence[float]) -> DevicePrepost | None:
    """Device pre/post-processing on a backend's CUDA stream, or None for the host path when the CUDA
    kernels cannot run here (said with one warning per process)."""
    kernels, reason = cuda_kernels()
    if kernels is None:
        _warn_host_path_once(reason)
        return None
    return DevicePrepost(kernels, stream, image_size, pixel_mean, pixel_std)


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
