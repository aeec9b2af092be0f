"""The C++ pre-processing kernel against the numpy reference (Pillow's resize): bit for bit, any shape."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

import haris.cpp_ops as cpp_ops
from haris.cpp_ops import reference_ops

needs_kernels = pytest.mark.skipif(cpp_ops.BACKEND != "cpp", reason="the C++ kernels are not built (no C++ compiler at install)")
MEAN, STD = (123.675, 116.28, 103.53), (58.395, 57.12, 57.375)
# 1x1, a row, a column, tiny and odd sizes, both orientations, and tall ones that Pillow 13 resizes
# vertically first; every image size S upscales some of them and downscales others.
SHAPES = [
    (1, 1),
    (1, 100),
    (100, 1),
    (2, 3),
    (7, 5),
    (33, 17),
    (480, 640),
    (640, 480),
    (1000, 333),
    (333, 1000),
    (1000, 20),
    (64, 64),
    (63, 64),
    (257, 3),
]


def noise_image(height: int, width: int, seed: int = 0) -> np.ndarray:
    # Uniform noise reaches every value and the most clipping the fixed-point passes can do.
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def assert_matches_reference(image: np.ndarray, image_size: int, threads: int | None = None) -> None:
    try:
        expected, expected_shape = reference_ops.preprocess_image(image, image_size, MEAN, STD)
    except ValueError:  # a side resized to 0 pixels: Pillow refuses, and so must the kernel
        with pytest.raises(ValueError, match="must be > 0"):
            cpp_ops.preprocess_image(image, image_size, MEAN, STD, threads)
        return
    actual, actual_shape = cpp_ops.preprocess_image(image, image_size, MEAN, STD, threads)
    assert actual.dtype == np.float32 and actual.shape == (3, image_size, image_size)
    assert actual_shape == expected_shape
    np.testing.assert_array_equal(actual, expected)


@needs_kernels
@pytest.mark.parametrize("image_size", [64, 256, 1024])
@pytest.mark.parametrize("height, width", SHAPES)
def test_small_and_odd_images_match_the_reference_bit_for_bit(height, width, image_size):
    assert_matches_reference(noise_image(height, width, seed=height * 7 + width), image_size)


@needs_kernels
@pytest.mark.parametrize("image_size", [256, 1024])
@pytest.mark.parametrize("height, width", [(3024, 4032), (4032, 3024)])
def test_large_photos_downscale_bit_for_bit(height, width, image_size):
    assert_matches_reference(noise_image(height, width), image_size)


@needs_kernels
@pytest.mark.parametrize("height, width, image_size", [(300, 200, 64), (30, 20, 256), (1000, 40, 256)])
def test_saturated_images_clip_as_pillow_does(height, width, image_size):
    checkerboard = ((np.indices((height, width)).sum(axis=0) % 2) * 255).astype(np.uint8)
    assert_matches_reference(np.repeat(checkerboard[:, :, None], 3, axis=2), image_size)
    assert_matches_reference(np.full((height, width, 3), 255, np.uint8), image_size)


@needs_kernels
@pytest.mark.parametrize("height, width, image_size", [(3024, 4032, 1024), (5000, 37, 256), (50, 40, 1024)])
def test_thread_count_never_changes_the_result(height, width, image_size):
    image = noise_image(height, width)
    single, _ = cpp_ops.preprocess_image(image, image_size, MEAN, STD, threads=1)
    for threads in (2, 3, 7, None):
        np.testing.assert_array_equal(cpp_ops.preprocess_image(image, image_size, MEAN, STD, threads)[0], single)


@needs_kernels
def test_non_contiguous_images_are_accepted():
    image = noise_image(120, 90)[::2, ::-1]
    assert_matches_reference(image, 64)


@needs_kernels
def test_horizontal_first_order_matches_older_pillow():
    # Pillow < 13 always resizes horizontally first; the kernel follows when told to.
    from haris.cpp_ops import _prepost

    image = noise_image(1000, 333)
    actual, (height, width) = _prepost.preprocess_image(image, 256, (0, 0, 0), (1, 1, 1), False)
    horizontal = Image.fromarray(image).resize((width, image.shape[0]), Image.BILINEAR)
    expected = np.asarray(horizontal.resize((width, height), Image.BILINEAR), np.float32).transpose(2, 0, 1)
    np.testing.assert_array_equal(actual[:, :height, :width], expected)


@pytest.mark.parametrize(
    "image", [np.zeros((4, 4), np.uint8), np.zeros((4, 4, 3), np.float32), np.zeros((4, 4, 4), np.uint8), np.zeros((0, 4, 3), np.uint8)]
)
def test_anything_but_a_non_empty_uint8_rgb_image_is_refused(image):
    with pytest.raises(ValueError, match="expected a"):
        cpp_ops.preprocess_image(image, 64, MEAN, STD)


FALLBACK_RUN = """
import warnings
import numpy as np
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    import haris.cpp_ops as ops
    for _ in range(3):
        model_input, resized = ops.preprocess_image(np.zeros((8, 6, 3), np.uint8), 16, (0, 0, 0), (1, 1, 1))
        ops.postprocess_mask(np.zeros((4, 4), np.float32), resized, (8, 6), 16)
print(ops.BACKEND, len(caught), model_input.shape, resized)
print(caught[0].message)
"""


def test_forced_numpy_backend_works_and_warns_exactly_once():
    env = {**os.environ, "HARIS_CPP_OPS": "numpy"}
    result = subprocess.run([sys.executable, "-c", FALLBACK_RUN], capture_output=True, text=True, env=env, check=True)
    summary, message = result.stdout.splitlines()
    assert summary == "numpy 1 (3, 16, 16) (16, 12)"
    assert "HARIS_CPP_OPS=numpy" in message and "numpy reference" in message
