"""What the Predictor returns per expression (its JSON: runtime/answer_json.py)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Prediction:
    expression: str
    mask: np.ndarray  # bool (H, W) at the original image size
    mask_logits: np.ndarray  # float32 (S/4, S/4), the decoder's low-resolution output (padding included); (0, 0) when read from JSON
    score: float  # mean probability inside the low-resolution mask; 0 when the mask is empty


def mask_score(mask_logits: np.ndarray, threshold: float) -> float:
    """How sure the model is of the pixels it selects: their mean sigmoid at low resolution.

    HARIS has no score head; this is the usual stand-in (SAM-style stability and IoU heads are
    not part of the paper), high when the selected pixels have confident logits.
    """
    selected = mask_logits[mask_logits > threshold]
    if selected.size == 0:
        return 0.0
    return float(np.mean(1.0 / (1.0 + np.exp(-selected.astype(np.float64)))))
