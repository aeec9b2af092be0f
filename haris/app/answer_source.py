"""What answers the page: a callable `(rgb, expressions) -> answer JSON` and a description of it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from haris.runtime.predictor import Predictor
from haris.runtime.segment_response import segment_json

Answer = Callable[[np.ndarray, list[str]], dict[str, Any]]


@dataclass(frozen=True)
class AnswerSource:
    answer: Answer
    description: dict[str, Any]  # what answers: bundle path, backend, device, precision, max_expressions ...
    close: Callable[[], None]

    @classmethod
    def from_predictor(cls, predictor: Predictor) -> AnswerSource:
        """A Predictor in this process; closing the source closes it."""

        def answer(rgb: np.ndarray, expressions: list[str]) -> dict[str, Any]:
            return segment_json(predictor.description, rgb.shape, predictor.segment(rgb, expressions))

        return cls(answer, dict(predictor.description), predictor.close)

    @classmethod
    def from_service(cls, url: str, timeout: float = 60.0) -> AnswerSource:
        """A `haris serve` service, through its client (which raises ServiceError, a HarisError, on a 4xx/5xx)."""
        from haris.client import SegmentClient  # the client lives with `haris serve`; only this mode needs it

        client = SegmentClient(url, timeout)
        served = client.model()  # {"model": what answers, "limits": what one request may hold}
        description = {**served["model"], "service": url, "max_expressions": served["limits"]["max_expressions"]}
        # The client's contract is segment() and model(); close it too if it holds connections.
        return cls(lambda rgb, expressions: client.segment(rgb, expressions), description, getattr(client, "close", _nothing))

    @property
    def max_expressions(self) -> int | None:
        """The most expressions the model takes in one run (a bundle's B range), if it says."""
        value = self.description.get("max_expressions")
        return int(value) if value else None

    def summary(self) -> str:
        """One line for the page: which model, backend, device and precision answer (and through which service)."""
        info = self.description
        kind = info.get("kind", "model")
        parts = [
            f"{kind} `{info.get('path', '?')}`",
            f"{info.get('backend', '?')} on {info.get('device', '?')}",
            f"precision {info.get('precision', '?')}",
        ]
        if "service" in info:
            parts.append(f"through the service {info['service']}")
        return "Answering: " + " · ".join(parts)


def _nothing() -> None:
    return None
