"""A service in the Predictor's place for `haris predict --server URL`: `segment(image, expressions)`
returns Predictions, their masks decoded from the API's RLE, so the one predict_images loop writes
the same predictions.json, masks and overlays from a service as from a local bundle."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from haris.client import SegmentClient
from haris.runtime.prediction import Prediction
from haris.runtime.segment_response import decode_rle

NO_LOGITS = np.zeros((0, 0), np.float32)  # the API sends masks, not the decoder's low-resolution logits


class RemotePredictor:
    def __init__(self, client: SegmentClient) -> None:
        self.client = client

    @functools.cached_property
    def description(self) -> dict[str, Any]:
        """What answers: the service's model (bundle, backend, precision, the engine it chose) and its URL."""
        return {**self.client.model()["model"], "service": self.client.url}

    def segment(self, image: str | Path | bytes | np.ndarray, expressions: Sequence[str]) -> list[Prediction]:
        answer = self.client.segment(image, expressions)
        return [Prediction(result["expression"], decode_rle(result["rle"]), NO_LOGITS, float(result["score"])) for result in answer["results"]]
