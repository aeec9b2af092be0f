"""What answers the page: a Predictor in this process, or a RemotePredictor for a `haris serve`
service. Both have the Predictor's interface, so the page runs one path for either."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from haris.runtime.prediction import Prediction

if TYPE_CHECKING:
    from haris.runtime.predictor import Predictor
    from haris.serve.remote_predictor import RemotePredictor


class AnswerSource:
    def __init__(self, predictor: Predictor | RemotePredictor) -> None:
        """Closing the source closes `predictor`. Its description is read once, now: a service
        that cannot be reached fails the page's start, not its first request."""
        self.predictor = predictor
        self.description: dict[str, Any] = dict(predictor.description)

    def segment(self, rgb: np.ndarray, expressions: list[str]) -> list[Prediction]:
        """One Prediction per expression; what the model or the service refuses raises a HarisError."""
        return self.predictor.segment(rgb, expressions)

    def close(self) -> None:
        self.predictor.close()

    @property
    def max_expressions(self) -> int | None:
        """The most expressions one request takes (a bundle's B range, a service's request limit), if it says."""
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
