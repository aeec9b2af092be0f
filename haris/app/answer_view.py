"""What the page shows of an answer: the image with one coloured mask per expression and a legend,
and one table row per expression. Drawn from the answer JSON alone, whoever produced it."""

from __future__ import annotations

from typing import Any

import numpy as np
from PIL import Image

from haris.errors import HarisError
from haris.runtime.mask_overlay import mask_colour, tint_masks, with_legend
from haris.runtime.segment_response import decode_rle

TABLE_HEADERS = ["#", "colour", "expression", "score", "area", "box x,y,w,h"]


def decode_masks(answer: dict[str, Any], image_shape: tuple[int, ...]) -> list[np.ndarray]:
    """The bool (H, W) mask of each result; an answer for an image of another size is refused."""
    size = (answer["image"]["height"], answer["image"]["width"])
    if size != tuple(image_shape[:2]):
        raise HarisError(f"the answer is for a {size[0]} x {size[1]} image, but the image shown is {image_shape[0]} x {image_shape[1]}")
    masks = [decode_rle(result["rle"]) for result in answer["results"]]
    for result, mask in zip(answer["results"], masks):
        if mask.shape != size:
            raise HarisError(f"the mask of {result['expression']!r} is {mask.shape[0]} x {mask.shape[1]}, not {size[0]} x {size[1]}")
    return masks


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
