"""RIS metrics: mean IoU (the paper's "IoU"), overall IoU and Pr@X, from per-expression I and U.

Callers pass masks at the original image resolution, so every count is in original pixels.
Intersections and unions are kept as integers: they add up exactly across shards of a split.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

PRECISION_THRESHOLDS = (0.5, 0.6, 0.7, 0.8, 0.9)


def intersection_union(pred_mask: np.ndarray, gt_mask: np.ndarray) -> tuple[int, int]:
    """Pixel counts of pred AND gt and pred OR gt for two boolean masks of the same shape."""
    if pred_mask.shape != gt_mask.shape:
        raise ValueError(
            f"prediction mask has shape {pred_mask.shape} but ground-truth mask has shape "
            f"{gt_mask.shape}; both must be at the original image resolution"
        )
    # Bitwise & and | are only logical on bool: uint8 masks of 1 and 255 would count wrongly.
    for name, mask in (("prediction", pred_mask), ("ground-truth", gt_mask)):
        if mask.dtype != np.bool_:
            raise ValueError(f"{name} mask must be bool, got dtype {mask.dtype}")
    intersection = int(np.count_nonzero(pred_mask & gt_mask))
    union = int(np.count_nonzero(pred_mask | gt_mask))
    return intersection, union


def expression_iou(intersection: int, union: int) -> float:
    """IoU of one expression as float64.

    A union of 0 means both masks are empty: the prediction is exactly right, so the IoU is 1.0
    (rather than 0/0). Real benchmarks never have an empty ground truth, so this only matters for
    synthetic or filtered data, where punishing a correct empty prediction would be wrong.
    """
    _check_counts(intersection, union)
    if union == 0:
        return 1.0
    return intersection / union


def summarize_ious(
    intersections: Sequence[int],
    unions: Sequence[int],
    thresholds: Sequence[float] = PRECISION_THRESHOLDS,
) -> dict:
    """Summary of one split.

    Returns {"count", "mean_iou", "overall_iou", "precision": {"Pr@50": ..., ...}}: mean_iou is the
    mean of per-expression IoUs, overall_iou is sum(I) / sum(U), and Pr@X is the fraction of
    expressions whose IoU is >= X.
    """
    if len(intersections) != len(unions):
        raise ValueError(f"got {len(intersections)} intersections but {len(unions)} unions; they must come in pairs, one per expression")
    if len(intersections) == 0:
        raise ValueError("cannot summarize zero expressions: the split evaluated nothing")
    ious = np.array([expression_iou(i, u) for i, u in zip(intersections, unions)], dtype=np.float64)
    total_union = sum(int(u) for u in unions)
    overall = 1.0 if total_union == 0 else sum(int(i) for i in intersections) / total_union
    return {
        "count": len(ious),
        "mean_iou": float(ious.mean()),
        "overall_iou": float(overall),
        "precision": {_precision_key(t): _fraction_at_least(ious, t) for t in thresholds},
    }


def _fraction_at_least(ious: np.ndarray, threshold: float) -> float:
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"precision threshold must be in (0, 1], got {threshold}")
    # I / U is correctly rounded in float64, so a ratio that equals the threshold exactly
    # (1/2, 7/10) gives the same double as the threshold literal and counts.
    return float(np.count_nonzero(ious >= threshold)) / len(ious)


def _precision_key(threshold: float) -> str:
    return f"Pr@{round(threshold * 100)}"


def _check_counts(intersection: int, union: int) -> None:
    if intersection < 0 or union < 0 or intersection > union:
        raise ValueError(f"invalid counts: intersection {intersection}, union {union}; need 0 <= intersection <= union")
