"""The JSON of predictions: one layout wherever a prediction leaves the process, written down in
`answer.schema.json` beside this module.

A prediction is `{"expression", "rle", "box", "area", "score"}`: the mask as COCO compressed RLE at
the image's size (`{"size": [H, W], "counts": str}`, which pycocotools also reads), its box
[x, y, w, h], its area in pixels and the Predictor's score. The answer for one image is
`{"model", "image": {"height", "width"}, "results": [prediction, ...]}`, results in the order of
the expressions: `POST /v1/segment` returns it, the service client hands it back and `haris app`
offers it for download. `haris predict`'s predictions.json holds the same `image` and `results`
per image, with the model said once at its top.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from importlib import resources
from typing import Any

import numpy as np

from haris.runtime.mask_encoding import decode_rle, encode_rle, mask_box
from haris.runtime.prediction import Prediction

SCHEMA_FILE = "answer.schema.json"
NO_LOGITS = np.zeros((0, 0), np.float32)  # the JSON carries masks, not the decoder's low-resolution logits


def encode_prediction(prediction: Prediction) -> dict[str, Any]:
    """The record of one prediction; `decode_prediction` reads it back."""
    return {
        "expression": prediction.expression,
        "rle": encode_rle(prediction.mask),
        "box": mask_box(prediction.mask),
        "area": int(prediction.mask.sum()),
        "score": round(prediction.score, 6),
    }


def decode_prediction(record: Mapping[str, Any]) -> Prediction:
    """The Prediction of a record, its mask decoded from the RLE (box and area follow from the mask)."""
    return Prediction(str(record["expression"]), decode_rle(record["rle"]), NO_LOGITS, float(record["score"]))


def encode_image_results(image_shape: tuple[int, ...], predictions: Sequence[Prediction]) -> dict[str, Any]:
    """`{"image": {"height", "width"}, "results": [...]}` for an image of shape (H, W[, C])."""
    height, width = int(image_shape[0]), int(image_shape[1])
    return {"image": {"height": height, "width": width}, "results": [encode_prediction(prediction) for prediction in predictions]}


def encode_answer(model: Mapping[str, Any], image_shape: tuple[int, ...], predictions: Sequence[Prediction]) -> dict[str, Any]:
    """The answer for one image; `model` says what answered (a Predictor's `description`)."""
    return {"model": dict(model), **encode_image_results(image_shape, predictions)}


def answer_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of an answer and of predictions.json, as shipped with the package."""
    return json.loads(resources.files("haris.runtime").joinpath(SCHEMA_FILE).read_text(encoding="utf-8"))
