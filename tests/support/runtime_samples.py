"""Inputs and comparisons shared by the runtime tests: demo scenes, encoded images, mask IoU."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from haris.data.synthetic.demo_scene import render_scene, scene_sentences


def demo_scenes(count: int, seed: int = 0, image_size: int = 256) -> list[tuple[np.ndarray, list[str]]]:
    """(pixels, expressions) of the first `count` demo scenes."""
    scenes = [render_scene(index, seed, image_size) for index in range(count)]
    return [(scene.pixels, scene_sentences(scene)) for scene in scenes]


def mask_iou(a: np.ndarray, b: np.ndarray) -> float:
    """IoU of two boolean masks; two empty masks agree fully (1.0)."""
    union = np.logical_or(a, b).sum()
    return 1.0 if union == 0 else float(np.logical_and(a, b).sum() / union)


def encode_image(image: Image.Image | np.ndarray, fmt: str, **options) -> bytes:
    """The image saved in `fmt` (PNG, JPEG, ...) with Pillow's save `options`."""
    if isinstance(image, np.ndarray):
        image = Image.fromarray(image)
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def colour_blocks(height: int = 32, width: int = 48) -> np.ndarray:
    """uint8 RGB: red, green and blue vertical bands over a dark bottom-right square (no symmetry,
    so a rotation or flip is visible; flat 8x8-aligned areas, so JPEG keeps the colours)."""
    pixels = np.zeros((height, width, 3), np.uint8)
    third = width // 3
    pixels[:, :third] = (230, 20, 20)
    pixels[:, third : 2 * third] = (20, 230, 20)
    pixels[:, 2 * third :] = (20, 20, 230)
    pixels[height // 2 :, 2 * third :] = (40, 40, 40)
    return pixels
