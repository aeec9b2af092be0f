"""The numpy reference pre/post-processing against segment_anything and torch."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from segment_anything.utils.transforms import ResizeLongestSide

from haris.image_transforms import bilinear_resize, postprocess_logits, preprocess_image, resized_shape

SIZES = [(480, 640), (7, 3), (1, 1), (1000, 333), (256, 256)]


@pytest.mark.parametrize("height, width", SIZES)
def test_preprocess_matches_segment_anything_resize_longest_side(height, width):
    image = np.random.default_rng(height * width).integers(0, 256, (height, width, 3), dtype=np.uint8)
    expected = ResizeLongestSide(256).apply_image(image).astype(np.float32)
    mean, std = (123.675, 116.28, 103.53), (58.395, 57.12, 57.375)
    model_input, (h, w) = preprocess_image(image, 256, mean, std)
    assert model_input.shape == (3, 256, 256) and model_input.dtype == np.float32
    assert (h, w) == expected.shape[:2] == resized_shape(height, width, 256)
    normalized = (expected - np.array(mean, np.float32)) / np.array(std, np.float32)
    np.testing.assert_array_equal(model_input[:, :h, :w], normalized.transpose(2, 0, 1))
    assert not model_input[:, h:, :].any() and not model_input[:, :, w:].any()


@pytest.mark.parametrize("source, target", [((16, 16), (64, 64)), ((9, 50), (13, 200)), ((5, 5), (3, 1)), ((1, 1), (4, 4))])
def test_bilinear_resize_matches_torch_interpolate(source, target):
    values = np.random.default_rng(0).standard_normal(source).astype(np.float32)
    expected = F.interpolate(torch.from_numpy(values)[None, None], size=target, mode="bilinear", align_corners=False)
    np.testing.assert_allclose(bilinear_resize(values, *target), expected[0, 0].numpy(), rtol=0, atol=1e-5)


def test_postprocess_crops_the_padding_before_resizing():
    logits = np.full((64, 64), -5.0, dtype=np.float32)
    logits[:, 32:] = 5.0  # right half positive, but the right half of S is padding for a tall image
    original = (400, 100)  # resized to (256, 64): only the left quarter of S holds the image
    mask = postprocess_logits(logits, resized_shape(*original, 256), original, 256) > 0
    assert mask.shape == original and not mask.any()


def test_preprocess_refuses_non_rgb_input():
    with pytest.raises(ValueError, match="uint8 RGB"):
        preprocess_image(np.zeros((4, 4), np.uint8), 256, (0, 0, 0), (1, 1, 1))
