"""The service's and the page's JSON: RLE round trips (against pycocotools too) and the layout."""

from __future__ import annotations

import numpy as np
import pytest
from pycocotools import mask as coco_mask

from haris.runtime.mask_encoding import encode_rle
from haris.runtime.prediction import Prediction
from haris.runtime.segment_response import decode_rle, segment_json


def _masks() -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    blob = np.zeros((40, 70), dtype=bool)
    blob[5:30, 10:60] = True
    return [rng.random((37, 53)) > 0.5, blob, np.ones((8, 9), bool), np.zeros((8, 9), bool), rng.random((300, 200)) > 0.97]


@pytest.mark.parametrize("index", range(5))
def test_decode_inverts_encode_and_matches_pycocotools(index: int) -> None:
    mask = _masks()[index]
    rle = encode_rle(mask)
    np.testing.assert_array_equal(decode_rle(rle), mask)
    ours_from_coco = decode_rle({"size": rle["size"], "counts": coco_mask.encode(np.asfortranarray(mask.astype(np.uint8)))["counts"].decode()})
    np.testing.assert_array_equal(ours_from_coco, mask)


def test_decode_refuses_counts_of_the_wrong_size() -> None:
    rle = encode_rle(np.ones((4, 4), bool))
    with pytest.raises(ValueError, match="cover 16 pixels, not 5 x 4"):
        decode_rle({"size": [5, 4], "counts": rle["counts"]})


def test_segment_json_keeps_the_order_and_names_of_the_api() -> None:
    blob = _masks()[1]
    predictions = [Prediction("left", blob, np.zeros((4, 4), np.float32), 0.9), Prediction("none", np.zeros_like(blob), np.zeros((4, 4)), 0.0)]
    answer = segment_json({"backend": "onnxruntime"}, (40, 70, 3), predictions)
    assert answer["image"] == {"height": 40, "width": 70}
    assert [r["expression"] for r in answer["results"]] == ["left", "none"]
    first = answer["results"][0]
    assert set(first) == {"expression", "rle", "box", "area", "score"}
    assert first["box"] == [10, 5, 50, 25] and first["area"] == 25 * 50 and first["score"] == 0.9
    np.testing.assert_array_equal(decode_rle(first["rle"]), blob)
