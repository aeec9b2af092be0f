"""Turning what a user hands the runtime (a path, bytes, a PIL image, an array) into uint8 RGB.

Photos come in every mode: grayscale, RGBA, palette, CMYK and 16-bit images are converted, not
refused, and EXIF orientation is honoured (a phone's portrait photo is stored sideways). What
cannot be an image (an unreadable, truncated, empty or non-image file, a decompression bomb)
raises ImageError naming the file and the reason in one line.
"""

from __future__ import annotations

import io
import threading
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from haris.errors import HarisError
from haris.image_transforms import resized_shape

ImageSource = str | Path | bytes | Image.Image | np.ndarray
_WARNINGS_LOCK = threading.Lock()


class ImageError(HarisError):
    """An image the runtime cannot read, named with the reason."""


def load_rgb(source: ImageSource) -> np.ndarray:
    """uint8 (H, W, 3) RGB from a path, encoded bytes, a PIL image or an (H, W[, C]) array."""
    if isinstance(source, np.ndarray):
        return array_to_rgb(source)
    if isinstance(source, Image.Image):
        return pil_to_rgb(source)
    name = "image bytes" if isinstance(source, bytes) else str(source)
    if not isinstance(source, bytes) and Path(source).is_file() and Path(source).stat().st_size == 0:
        raise ImageError(f"{name}: the file is empty (0 bytes)")
    try:
        with _open_image(io.BytesIO(source) if isinstance(source, bytes) else source) as image:
            return pil_to_rgb(image)
    except FileNotFoundError:
        raise ImageError(f"{name}: no such file") from None
    except UnidentifiedImageError:
        raise ImageError(f"{name}: not an image Pillow can read") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise ImageError(f"{name}: refused as a possible decompression bomb ({error})") from None
    except (OSError, ValueError, SyntaxError) as error:  # truncated or corrupt data
        raise ImageError(f"{name}: cannot decode the image: {error}") from None


def check_resizable(height: int, width: int, image_size: int) -> None:
    """Refuse, as an ImageError, an image so elongated that its short side would be 0 pixels once its
    long side is resized to the model's input size `image_size` (the model would see no pixels)."""
    if 0 in resized_shape(height, width, image_size):
        raise ImageError(
            f"a {height} x {width} image is too elongated: its short side would be 0 pixels when its long side is resized to the model's {image_size}"
        )


def _open_image(source: str | Path | io.BytesIO) -> Image.Image:
    """Image.open with Pillow's decompression-bomb warning raised (over the limit is refused, not
    warned). The warning filters are process-wide, so threads take turns: unserialized, one thread
    leaving catch_warnings drops the filter another is relying on, and the filter can leak."""
    with _WARNINGS_LOCK, warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        return Image.open(source)  # reads the header only; pixels decode outside the lock


def pil_to_rgb(image: Image.Image) -> np.ndarray:
    """Any Pillow mode -> uint8 RGB; alpha is dropped (the colours under it are what the model sees)."""
    image = ImageOps.exif_transpose(image)
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        return array_to_rgb(np.asarray(image))
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")  # Pillow warns converting such palettes straight to RGB
    return np.asarray(image.convert("RGB"), dtype=np.uint8)


def array_to_rgb(array: np.ndarray) -> np.ndarray:
    """(H, W), (H, W, 1), (H, W, 3) or (H, W, 4) of uint8, uint16, int or float in [0, 1] -> uint8 RGB."""
    if array.ndim == 2:
        array = array[:, :, None]
    if array.ndim != 3 or array.shape[2] not in (1, 3, 4) or 0 in array.shape:
        raise ImageError(f"an image array must be (H, W), (H, W, 1), (H, W, 3) or (H, W, 4), got shape {array.shape}")
    array = _to_uint8(array)
    return np.ascontiguousarray(np.repeat(array, 3, axis=2) if array.shape[2] == 1 else array[:, :, :3])


def _to_uint8(array: np.ndarray) -> np.ndarray:
    if array.dtype == np.uint8:
        return array
    if np.issubdtype(array.dtype, np.floating):
        return np.clip(np.nan_to_num(array) * 255 + 0.5, 0, 255).astype(np.uint8)
    if np.issubdtype(array.dtype, np.integer) and array.dtype != np.bool_:
        # uint16 is 16-bit data whatever its values (a dark 16-bit PNG may stay under 256); wider
        # integers (Pillow's mode I) are 16-bit when they exceed 255.
        sixteen_bit = array.dtype.itemsize == 2 or int(array.max(initial=0)) > 255
        top = 65535 if sixteen_bit else 255
        return (np.clip(array, 0, top).astype(np.uint32) * 255 // top).astype(np.uint8)
    raise ImageError(f"an image array must hold integers or floats, got {array.dtype}")
