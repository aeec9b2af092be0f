"""The pure numpy versions of the cpp_ops kernels: their fallback, their test oracle, and the argument
checks both backends share.

They add nothing to `haris.image_transforms`, the one reference implementation (docs/design.md):
`preprocess_image` is it, and `postprocess_mask` is its `postprocess_logits` followed by the
threshold, with the kernels' signatures so the two backends are interchangeable. That module (and
Pillow with it) is imported on the first call, so the compiled backend never loads Pillow.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from importlib.metadata import PackageNotFoundError, version

import numpy as np


@cache
def pillow_13_pass_order() -> bool:
    """Whether the installed Pillow, which the reference resizes with, orders its two resize passes as
    Pillow 13 does (vertical first for an image losing much more height than width, Pillow#9549)
    rather than always horizontal first. Without Pillow installed: the newest behaviour."""
    try:
        return int(version("pillow").split(".")[0]) >= 13
    except (PackageNotFoundError, ValueError):
        return True


def check_image(image: np.ndarray) -> np.ndarray:
    """The image as a C-contiguous uint8 (H, W, 3) array; ValueError for anything else."""
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        got = f"{image.dtype} {image.shape}" if isinstance(image, np.ndarray) else type(image).__name__
        raise ValueError(f"expected a uint8 RGB image (H, W, 3), got {got}")
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise ValueError(f"expected a non-empty image, got {image.shape}")
    return np.ascontiguousarray(image)


def check_logits(mask_logits: np.ndarray, resized: Sequence[int], original: Sequence[int], image_size: int) -> np.ndarray:
    """The logits as a C-contiguous float32 (lh, lw) array; ValueError for sizes that cannot be right."""
    logits = np.ascontiguousarray(mask_logits, dtype=np.float32)
    if logits.ndim != 2 or 0 in logits.shape:
        raise ValueError(f"expected 2-D mask logits (S/4, S/4), got {logits.shape}")
    check_mask_sizes(resized, original, image_size)
    return logits


def check_mask_sizes(resized: Sequence[int], original: Sequence[int], image_size: int) -> None:
    """ValueError unless the resized (h, w) lies inside S x S and the original (H, W) is positive."""
    if not (0 < resized[0] <= image_size and 0 < resized[1] <= image_size):
        raise ValueError(f"resized {tuple(resized)} must lie inside the {image_size} x {image_size} input")
    if min(original) <= 0:
        raise ValueError(f"original size {tuple(original)} must be positive")


def preprocess_image(
    image: np.ndarray,
    image_size: int,
    pixel_mean: Sequence[float],
    pixel_std: Sequence[float],
    threads: int | None = None,
) -> tuple[np.ndarray, tuple[int, int]]:
    """uint8 (H, W, 3) RGB -> float32 (3, S, S) model input and the resized (h, w); `threads` is
    accepted for the kernels' signature and ignored."""
    from haris import image_transforms  # Pillow loads only when the reference runs

    return image_transforms.preprocess_image(check_image(image), image_size, pixel_mean, pixel_std)


def postprocess_mask(
    mask_logits: np.ndarray,
    resized: Sequence[int],
    original: Sequence[int],
    image_size: int,
    threshold: float = 0.0,
    return_logits: bool = False,
    threads: int | None = None,
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """(lh, lw) logits -> bool (H, W) mask (logit > threshold), and with `return_logits` also the
    float32 (H, W) logits; `threads` is accepted for the kernels' signature and ignored."""
    from haris import image_transforms  # Pillow loads only when the reference runs

    logits = check_logits(mask_logits, resized, original, image_size)
    full = image_transforms.postprocess_logits(logits, tuple(resized), tuple(original), image_size)
    # The threshold is compared in float32, as the kernels compare it.
    mask = full > np.float32(threshold)
    return (mask, full) if return_logits else mask
