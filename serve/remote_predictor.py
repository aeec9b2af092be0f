"""`RemotePredictor`: a `haris serve` service in a Predictor's place.

It has the Predictor's interface (`segment`, `predict_batch`, `description`, `close`, a context
manager) and returns Predictions, their masks decoded from the answer's RLE, so whatever runs a
Predictor runs a service the same way: `haris predict --server URL` writes the same
predictions.json, masks and overlays as with a local bundle, and `haris app --server URL` draws
the same page. The standard library, numpy and (for pixels) Pillow are all it needs, as its client.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from haris.runtime.answer_json import decode_prediction
from haris.runtime.prediction import Prediction
from haris.serve.segment_client import SegmentClient

RemoteImage = str | Path | bytes | np.ndarray


class RemotePredictor:
    def __init__(self, url: str, timeout: float = 60.0, retries: int = 3, api_key: str | None = None) -> None:
        """The service at `url`; a request waits `timeout` seconds and is retried `retries` times
        when the service could not answer it (SegmentClient); `api_key` goes in every request."""
        self.client = SegmentClient(url, timeout, retries, api_key=api_key)

    @functools.cached_property
    def description(self) -> dict[str, Any]:
        """What answers: the service's model (bundle, backend, precision, the engine it chose), its URL
        as `service`, and as `max_expressions` the most one request may hold (its request limit)."""
        served = self.client.model()
        return {**served["model"], "service": self.client.url, "max_expressions": served["limits"]["max_expressions"]}

    def segment(self, image: RemoteImage, expressions: Sequence[str]) -> list[Prediction]:
        """One Prediction per expression, in order; a refusal raises ServiceError with the service's message."""
        answer = self.client.segment(image, expressions)
        return [decode_prediction(record) for record in answer["results"]]

    def predict_batch(self, items: Sequence[tuple[RemoteImage, Sequence[str]]]) -> list[list[Prediction]]:
        """Per (image, expressions) item, its Predictions: one request each (the service batches
        concurrent requests on its side)."""
        return [self.segment(image, expressions) for image, expressions in items]

    def close(self) -> None:
        """Nothing to release: the client opens one connection per request and closes it with the answer."""

    def __enter__(self) -> RemotePredictor:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
