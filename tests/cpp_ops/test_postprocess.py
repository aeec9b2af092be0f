"""The C++ post-processing kernel against the numpy reference: logits and mask bit for bit, any size."""

from __future__ import annotations

import numpy as np
import pytest

import haris.cpp_ops as cpp_ops
from haris.cpp_ops import reference_ops
from haris.image_transforms import resized_shape

pytestmark = pytest.mark.skipif(cpp_ops.BACKEND != "cpp", reason="the C++ kernels are not built (no C++ compiler at install)")
ORIGINALS = [(1, 1), (1, 100), (100, 1), (7, 5), (33, 17), (480, 640), (640, 480), (1000, 333), (64, 64), (1000, 20)]


def random_logits(height: int, width: int, seed: int = 0) -> np.ndarray:
    return (np.random.default_rng(seed).standard_normal((height, width)) * 4).astype(np.float32)


def assert_matches_reference(logits: np.ndarray, original: tuple[int, int], image_size: int, threshold: float = 0.0) -> None:
    resized = resized_shape(*original, image_size)
    expected_mask, expected_logits = reference_ops.postprocess_mask(logits, resized, original, image_size, threshold, return_logits=True)
    mask, full = cpp_ops.postprocess_mask(logits, resized, original, image_size, threshold, return_logits=True)
    assert mask.dtype == np.bool_ and mask.shape == original
    assert full.dtype == np.float32 and full.shape == original
    np.testing.assert_array_equal(full, expected_logits)
    np.testing.assert_array_equal(mask, expected_mask)


def usable(original: tuple[int, int], image_size: int) -> bool:
    return min(resized_shape(*original, image_size)) > 0


@pytest.mark.parametrize("image_size", [64, 256, 1024])
@pytest.mark.parametrize("original", ORIGINALS)
def test_small_and_odd_images_match_the_reference_bit_for_bit(original, image_size):
    if not usable(original, image_size):
        pytest.skip(f"{original} has a side of 0 pixels at S={image_size}; pre-processing refuses it")
    assert_matches_reference(random_logits(image_size // 4, image_size // 4, seed=sum(original)), original, image_size)


@pytest.mark.parametrize("image_size", [256, 1024])
@pytest.mark.parametrize("original", [(3024, 4032), (4032, 3024)])
def test_large_photos_upscale_bit_for_bit(original, image_size):
    assert_matches_reference(random_logits(image_size // 4, image_size // 4), original, image_size)


@pytest.mark.parametrize("threshold", [-1.5, 0.7, 3.0])
def test_other_thresholds_match(threshold):
    assert_matches_reference(random_logits(64, 64), (480, 640), 256, threshold)


def test_logits_of_any_low_resolution_shape_work():
    assert_matches_reference(random_logits(50, 70), (300, 200), 256)


@pytest.mark.parametrize("original, image_size", [((3024, 4032), 1024), ((333, 1000), 256), ((9, 7), 64)])
def test_thread_count_never_changes_the_result(original, image_size):
    logits = random_logits(image_size // 4, image_size // 4)
    resized = resized_shape(*original, image_size)
    single_mask, single_logits = cpp_ops.postprocess_mask(logits, resized, original, image_size, return_logits=True, threads=1)
    for threads in (2, 5, None):
        mask, full = cpp_ops.postprocess_mask(logits, resized, original, image_size, return_logits=True, threads=threads)
        np.testing.assert_array_equal(mask, single_mask)
        np.testing.assert_array_equal(full, single_logits)


def test_mask_alone_by_default_and_from_any_float_logits():
    logits = random_logits(16, 16).astype(np.float64)  # converted to float32 as the reference converts it
    mask = cpp_ops.postprocess_mask(logits, (64, 48), (120, 90), 64)
    assert isinstance(mask, np.ndarray) and mask.dtype == np.bool_ and mask.shape == (120, 90)
    np.testing.assert_array_equal(mask, reference_ops.postprocess_mask(logits, (64, 48), (120, 90), 64))


@pytest.mark.parametrize(
    "logits, resized, original",
    [
        (np.zeros((1, 16, 16), np.float32), (64, 64), (64, 64)),
        (np.zeros((16, 16), np.float32), (65, 64), (64, 64)),
        (np.zeros((16, 16), np.float32), (64, 64), (0, 64)),
    ],
)
def test_impossible_sizes_are_refused(logits, resized, original):
    with pytest.raises(ValueError):
        cpp_ops.postprocess_mask(logits, resized, original, 64)
