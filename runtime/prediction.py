"""What the Predictor returns per expression."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from haris.runtime.mask_encoding import encode_rle, mask_box


@dataclass(frozen=True)
class Prediction:
    expression: str
    mask: np.ndarray  # bool (H, W) at the original image size
    mask_logits: np.ndarray  # float32 (S/4, S/4), the decoder's low-resolution output (padding included)
    score: float  # mean probability inside the low-resolution mask; 0 when the mask is empty

    def to_json(self) -> dict:
        """COCO-style record: RLE, box [x, y, w, h], area, score."""
        return {
            "expression": self.expression,
            "segmentation": encode_rle(self.mask),
            "bbox": mask_box(self.mask),
            "area": int(self.mask.sum()),
            "score": round(self.score, 6),
        }


def mask_score(mask_logits: np.ndarray, threshold: float) -> float:
    """How sure the model is of the pixels it selects: their mean sigmoid at low resolution.

    HARIS has no score head; this is the usual stand-in (SAM-style stability and IoU heads are
    not part of the paper), high when the selected pixels have confident logits.
    """
    selected = mask_logits[mask_logits > threshold]
    if selected.size == 0:
        return 0.0
    return float(np.mean(1.0 / (1.0 + np.exp(-selected.astype(np.float64)))))
