"""The one reference implementation of pre- and post-processing (numpy + Pillow, no torch).

Training, evaluation and every runtime backend use these, and the cpp_ops kernels are tested
against them. Pre-processing follows segment_anything's `ResizeLongestSide`: the longest side is
resized to S with Pillow's bilinear filter (what torchvision's `resize` does on a PIL image), the
pixels are normalized with the model's mean/std and padded bottom-right with zeros to S x S.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image


def resized_shape(height: int, width: int, image_size: int) -> tuple[int, int]:
    """(h, w) after scaling the longest side to `image_size`, rounded as SAM rounds."""
    scale = image_size / max(height, width)
    return int(height * scale + 0.5), int(width * scale + 0.5)


def preprocess_image(
    image: np.ndarray, image_size: int, pixel_mean: Sequence[float], pixel_std: Sequence[float]
) -> tuple[np.ndarray, tuple[int, int]]:
    """uint8 (H, W, 3) RGB -> float32 (3, S, S) model input, and the resized (h, w) inside it."""
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected a uint8 RGB image (H, W, 3), got {image.dtype} {image.shape}")
    height, width = resized_shape(image.shape[0], image.shape[1], image_size)
    resized = np.asarray(Image.fromarray(image).resize((width, height), Image.BILINEAR), dtype=np.float32)
    normalized = (resized - np.asarray(pixel_mean, np.float32)) / np.asarray(pixel_std, np.float32)
    padded = np.zeros((3, image_size, image_size), dtype=np.float32)
    padded[:, :height, :width] = normalized.transpose(2, 0, 1)
    return padded, (height, width)


def bilinear_resize(values: np.ndarray, height: int, width: int) -> np.ndarray:
    """Resize a float (h, w) array like torch's interpolate(mode="bilinear", align_corners=False)."""
    rows = _sample_positions(values.shape[0], height)
    cols = _sample_positions(values.shape[1], width)
    top, bottom, row_weight = rows
    left, right, col_weight = cols
    upper = values[top][:, left] * (1 - col_weight) + values[top][:, right] * col_weight
    lower = values[bottom][:, left] * (1 - col_weight) + values[bottom][:, right] * col_weight
    return (upper * (1 - row_weight[:, None]) + lower * row_weight[:, None]).astype(np.float32)


def postprocess_logits(mask_logits: np.ndarray, resized: tuple[int, int], original: tuple[int, int], image_size: int) -> np.ndarray:
    """Low-resolution logits (S/4, S/4) -> logits at the original (H, W): upsample to S, crop the
    padding, resize to the original size. Threshold the result (> 0 by default) for the mask."""
    full = bilinear_resize(np.asarray(mask_logits, dtype=np.float32), image_size, image_size)
    cropped = full[: resized[0], : resized[1]]
    return bilinear_resize(cropped, original[0], original[1])


def _sample_positions(source: int, target: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    # Half-pixel centres, clamped at the border, as align_corners=False does.
    position = (np.arange(target, dtype=np.float64) + 0.5) * (source / target) - 0.5
    position = np.clip(position, 0, source - 1)
    low = np.floor(position).astype(np.int64)
    high = np.minimum(low + 1, source - 1)
    return low, high, (position - low).astype(np.float32)
