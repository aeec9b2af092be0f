"""What the page shows of an answer: the image with one coloured mask per expression and a legend,
and one table row per expression. Drawn from the predictions' masks and the answer JSON
(runtime/answer_json.py) that the page also offers for download."""

from __future__ import annotations

from typing import Any

import numpy as np
from PIL import Image

from haris.errors import HarisError
from haris.runtime.mask_overlay import mask_colour, tint_masks, with_legend
from haris.runtime.prediction import Prediction

TABLE_HEADERS = ["#", "colour", "expression", "score", "area", "box x,y,w,h"]


def extract_masks(predictions: list[Prediction], image_shape: tuple[int, ...]) -> list[np.ndarray]:
    """The bool (H, W) mask of each prediction; a mask for an image of another size (a service that
    read the file otherwise) is refused rather than drawn wrong."""
    size = tuple(image_shape[:2])
    for prediction in predictions:
        if prediction.mask.shape != size:
            height, width = prediction.mask.shape
            raise HarisError(f"the mask of {prediction.expression!r} is {height} x {width}, but the image shown is {size[0]} x {size[1]}")
    return [prediction.mask for prediction in predictions]


def draw_answer(rgb: np.ndarray, answer: dict[str, Any], masks: list[np.ndarray]) -> Image.Image:
    """The image, mask i tinted in colour i, over a legend: "i. expression (score)" beside its colour."""
    labels = [f"{index}. {result['expression']} (score {result['score']:.2f})" for index, result in enumerate(answer["results"], start=1)]
    return with_legend(tint_masks(rgb, masks), labels)


def table_rows(answer: dict[str, Any]) -> list[list[Any]]:
    """One row per expression, numbered and coloured as in the legend."""
    rows = []
    for index, result in enumerate(answer["results"]):
        box = ", ".join(f"{value:g}" for value in result["box"])
        rows.append([index + 1, mask_colour(index)[0], result["expression"], round(float(result["score"]), 3), int(result["area"]), box])
    return rows
