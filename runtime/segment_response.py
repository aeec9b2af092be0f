"""The JSON answer to "segment these expressions in this image", one layout for every front end.

`haris serve` returns it from `POST /v1/segment`, `haris.client.SegmentClient` hands it back, and
`haris app` draws from it, so a page running a Predictor in-process and one calling a service show
the same thing. Per expression: COCO compressed RLE at the image's size (as `haris predict` writes
it), box [x, y, w, h], area in pixels and the Predictor's score, in the order of the expressions.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from haris.runtime.prediction import Prediction


def result_json(prediction: Prediction) -> dict[str, Any]:
    record = prediction.to_json()
    return {
        "expression": record["expression"],
        "rle": record["segmentation"],
        "box": record["bbox"],
        "area": record["area"],
        "score": record["score"],
    }


def segment_json(model: dict[str, Any], image_shape: tuple[int, ...], predictions: Sequence[Prediction]) -> dict[str, Any]:
    """`model`: what answered (a Predictor's `description`); `image_shape`: (H, W[, C]) of the image."""
    height, width = int(image_shape[0]), int(image_shape[1])
    return {"model": dict(model), "image": {"height": height, "width": width}, "results": [result_json(p) for p in predictions]}


def decode_rle(rle: dict[str, Any]) -> np.ndarray:
    """The bool (H, W) mask of a COCO compressed RLE (the inverse of mask_encoding.encode_rle)."""
    height, width = rle["size"]
    counts = _uncompress(rle["counts"])
    flat = np.zeros(height * width, dtype=bool)
    position = 0
    for index, count in enumerate(counts):
        if index % 2:
            flat[position : position + count] = True
        position += count
    if position != height * width:
        raise ValueError(f"RLE counts cover {position} pixels, not {height} x {width}")
    return flat.reshape((height, width), order="F")


def _uncompress(text: str) -> list[int]:
    counts: list[int] = []
    position = 0
    while position < len(text):
        value, shift, more = 0, 0, True
        while more:
            chunk = ord(text[position]) - 48
            value |= (chunk & 0x1F) << shift
            more = bool(chunk & 0x20)
            position += 1
            shift += 5
            if not more and chunk & 0x10:
                value |= -1 << shift  # sign-extend the last group
        if len(counts) > 2:
            value += counts[-2]
        counts.append(value)
    return counts
