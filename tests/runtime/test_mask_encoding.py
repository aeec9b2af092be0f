"""The runtime's numpy COCO RLE (both ways) and boxes against pycocotools, on random and edge-case masks."""

from __future__ import annotations

import numpy as np
import pytest
from pycocotools import mask as coco_mask

from haris.runtime.mask_encoding import decode_rle, encode_rle, mask_box


def random_masks():
    rng = np.random.default_rng(0)
    masks = []
    for _ in range(150):
        height, width = rng.integers(1, 70, size=2)
        kind = rng.integers(3)
        if kind == 0:  # salt and pepper: many short runs
            mask = rng.random((height, width)) < rng.random()
        elif kind == 1:  # one rectangle: long runs, counts over 31 (several 5-bit groups)
            mask = np.zeros((height, width), bool)
            top, left = rng.integers(0, height), rng.integers(0, width)
            mask[top : rng.integers(top, height + 1), left : rng.integers(left, width + 1)] = True
        else:  # blobs at the borders
            ys, xs = np.mgrid[:height, :width]
            mask = (ys - rng.integers(height)) ** 2 + (xs - rng.integers(width)) ** 2 < rng.integers(1, 40) ** 2
        masks.append(mask)
    return masks


EDGE_MASKS = {
    "empty": np.zeros((7, 5), bool),
    "full": np.ones((7, 5), bool),
    "1x1 empty": np.zeros((1, 1), bool),
    "1x1 full": np.ones((1, 1), bool),
    "1xN": np.array([[0, 1, 1, 0, 1, 0, 0, 1]], bool),
    "Nx1": np.array([[1], [1], [0], [1]], bool),
    "first pixel only": np.pad(np.ones((1, 1), bool), ((0, 9), (0, 9))),
    "last pixel only": np.pad(np.ones((1, 1), bool), ((9, 0), (9, 0))),
    "large runs": np.pad(np.ones((300, 400), bool), ((0, 200), (100, 0))),
}


def coco_rle(mask: np.ndarray) -> dict:
    return coco_mask.encode(np.asfortranarray(mask.astype(np.uint8)))


@pytest.mark.parametrize("name", sorted(EDGE_MASKS))
def test_edge_masks_encode_as_pycocotools_does(name):
    mask = EDGE_MASKS[name]
    rle = encode_rle(mask)
    assert rle == {"size": list(mask.shape), "counts": coco_rle(mask)["counts"].decode("ascii")}
    assert mask_box(mask) == coco_mask.toBbox(coco_rle(mask)).astype(int).tolist()


def test_random_masks_encode_and_box_as_pycocotools_does():
    for mask in random_masks():
        expected = coco_rle(mask)
        assert encode_rle(mask)["counts"] == expected["counts"].decode("ascii"), mask.shape
        assert mask_box(mask) == coco_mask.toBbox(expected).astype(int).tolist(), mask.shape


def test_rle_decodes_back_to_the_mask_with_ours_and_with_pycocotools():
    for mask in [*random_masks()[:30], *EDGE_MASKS.values()]:
        rle = encode_rle(mask)
        np.testing.assert_array_equal(coco_mask.decode(rle).astype(bool), mask)
        np.testing.assert_array_equal(decode_rle(rle), mask)
        assert decode_rle(rle).dtype == bool


def test_pycocotools_rle_decodes_with_ours():
    for mask in random_masks()[30:60]:
        np.testing.assert_array_equal(decode_rle({"size": list(mask.shape), "counts": coco_rle(mask)["counts"].decode("ascii")}), mask)


def test_decode_refuses_counts_of_the_wrong_size():
    rle = encode_rle(np.ones((4, 4), bool))
    with pytest.raises(ValueError, match="cover 16 pixels, not 5 x 4"):
        decode_rle({"size": [5, 4], "counts": rle["counts"]})
