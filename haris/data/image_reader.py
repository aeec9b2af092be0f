"""Reading a dataset image as RGB, with errors that name the file and the ref it belongs to."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from haris.errors import DataError


def read_rgb_image(path: Path, height: int, width: int, owner: str, size_source: str) -> np.ndarray:
    """uint8 (H, W, 3) RGB; DataError if the file is unreadable or not the size the annotations say.

    `owner` names what the image belongs to ("ref 12", "task '3_4'"); `size_source` where the
    expected size comes from.
    """
    try:
        with Image.open(path) as image:
            rgb = np.asarray(image.convert("RGB"), dtype=np.uint8)
    except (OSError, ValueError, Image.DecompressionBombError) as error:  # missing, truncated, not an image
        raise DataError(f"{path}: cannot read the image of {owner}: {error}") from None
    if rgb.shape[:2] != (height, width):
        raise DataError(f"{path}: the image of {owner} is {rgb.shape[1]}x{rgb.shape[0]} pixels, but {size_source} says {width}x{height}")
    return rgb
