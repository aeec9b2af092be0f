"""Answers for the `haris app` tests without a model: known masks turned into the answer JSON."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from haris.app.answer_source import AnswerSource
from haris.runtime.prediction import Prediction
from haris.runtime.segment_response import segment_json

DESCRIPTION = {"path": "/bundles/tiny", "kind": "bundle", "backend": "onnxruntime", "device": "cpu", "precision": "fp32", "max_expressions": 4}


def band_masks(height: int, width: int, count: int) -> list[np.ndarray]:
    """`count` masks: horizontal bands, mask i covering rows [8 i, 8 i + 12) over the left half."""
    masks = []
    for index in range(count):
        mask = np.zeros((height, width), dtype=bool)
        mask[8 * index : 8 * index + 12, : width // 2] = True
        masks.append(mask)
    return masks


def band_answer(image_shape: tuple[int, ...], expressions: list[str]) -> dict[str, Any]:
    masks = band_masks(image_shape[0], image_shape[1], len(expressions))
    predictions = [
        Prediction(text, mask, np.zeros((4, 4), np.float32), 0.5 + 0.1 * index) for index, (text, mask) in enumerate(zip(expressions, masks))
    ]
    return segment_json(DESCRIPTION, image_shape, predictions)


def band_source(calls: list | None = None, closed: list | None = None) -> AnswerSource:
    """An AnswerSource answering band masks; records each (shape, expressions) in `calls` and closing in `closed`."""

    def answer(rgb: np.ndarray, expressions: list[str]) -> dict[str, Any]:
        if calls is not None:
            calls.append((rgb.shape, list(expressions)))
        return band_answer(rgb.shape, expressions)

    close: Callable[[], None] = (lambda: closed.append(True)) if closed is not None else (lambda: None)
    return AnswerSource(answer, dict(DESCRIPTION), close)
