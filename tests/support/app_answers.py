"""Answers for the `haris app` tests without a model: a stand-in predictor answering known masks."""

from __future__ import annotations

from typing import Any

import numpy as np

from haris.app.answer_source import AnswerSource
from haris.runtime.answer_json import encode_answer
from haris.runtime.prediction import Prediction

DESCRIPTION = {"path": "/bundles/tiny", "kind": "bundle", "backend": "onnxruntime", "device": "cpu", "precision": "fp32", "max_expressions": 4}


def band_masks(height: int, width: int, count: int) -> list[np.ndarray]:
    """`count` masks: horizontal bands, mask i covering rows [8 i, 8 i + 12) over the left half."""
    masks = []
    for index in range(count):
        mask = np.zeros((height, width), dtype=bool)
        mask[8 * index : 8 * index + 12, : width // 2] = True
        masks.append(mask)
    return masks


def band_predictions(image_shape: tuple[int, ...], expressions: list[str]) -> list[Prediction]:
    masks = band_masks(image_shape[0], image_shape[1], len(expressions))
    return [Prediction(text, mask, np.zeros((4, 4), np.float32), 0.5 + 0.1 * index) for index, (text, mask) in enumerate(zip(expressions, masks))]


def band_answer(image_shape: tuple[int, ...], expressions: list[str]) -> dict[str, Any]:
    return encode_answer(DESCRIPTION, image_shape, band_predictions(image_shape, expressions))


class BandPredictor:
    """The Predictor's interface, answering band masks; records each (shape, expressions) in `calls`
    and each close in `closed`. `answer_shape` answers for an image of that shape instead."""

    def __init__(self, calls: list | None = None, closed: list | None = None, answer_shape: tuple[int, ...] | None = None) -> None:
        self.description = dict(DESCRIPTION)
        self.calls, self.closed, self.answer_shape = calls, closed, answer_shape

    def segment(self, rgb: np.ndarray, expressions: list[str]) -> list[Prediction]:
        if self.calls is not None:
            self.calls.append((rgb.shape, list(expressions)))
        return band_predictions(self.answer_shape or rgb.shape, expressions)

    def close(self) -> None:
        if self.closed is not None:
            self.closed.append(True)


def band_source(calls: list | None = None, closed: list | None = None, answer_shape: tuple[int, ...] | None = None) -> AnswerSource:
    """An AnswerSource over a BandPredictor."""
    return AnswerSource(BandPredictor(calls, closed, answer_shape))
