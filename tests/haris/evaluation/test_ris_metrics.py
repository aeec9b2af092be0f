"""RIS metrics against values computed by hand."""

from __future__ import annotations

import numpy as np
import pytest

from haris.evaluation.ris_metrics import (
    PRECISION_THRESHOLDS,
    expression_iou,
    intersection_union,
    summarize_ious,
)


def _mask(shape: tuple[int, int], *boxes: tuple[int, int, int, int]) -> np.ndarray:
    """A bool mask with the given (top, bottom, left, right) half-open boxes set."""
    mask = np.zeros(shape, dtype=bool)
    for top, bottom, left, right in boxes:
        mask[top:bottom, left:right] = True
    return mask


def test_intersection_union_counts_pixels():
    pred = _mask((6, 6), (0, 2, 0, 3))  # 6 pixels
    gt = _mask((6, 6), (1, 3, 0, 3))  # 6 pixels, 3 shared
    assert intersection_union(pred, gt) == (3, 9)


def test_empty_prediction_scores_zero():
    i, u = intersection_union(np.zeros((4, 4), bool), _mask((4, 4), (0, 2, 0, 2)))
    assert (i, u) == (0, 4)
    assert expression_iou(i, u) == 0.0


def test_empty_ground_truth_with_a_prediction_scores_zero():
    i, u = intersection_union(_mask((4, 4), (0, 1, 0, 3)), np.zeros((4, 4), bool))
    assert (i, u) == (0, 3)
    assert expression_iou(i, u) == 0.0


def test_both_empty_scores_one():
    i, u = intersection_union(np.zeros((4, 4), bool), np.zeros((4, 4), bool))
    assert (i, u) == (0, 0)
    assert expression_iou(i, u) == 1.0


def test_shape_mismatch_names_both_shapes():
    with pytest.raises(ValueError, match=r"\(4, 5\).*\(5, 4\)"):
        intersection_union(np.zeros((4, 5), bool), np.zeros((5, 4), bool))


def test_non_bool_masks_are_refused():
    with pytest.raises(ValueError, match="bool"):
        intersection_union(np.zeros((2, 2), np.uint8), np.zeros((2, 2), bool))


def test_summary_of_several_expressions():
    # IoUs 1/2, 3/4, 0/5, 9/10: mean 0.5375; overall (1+3+0+9)/(2+4+5+10) = 13/21.
    summary = summarize_ious([1, 3, 0, 9], [2, 4, 5, 10])
    assert summary["count"] == 4
    assert summary["mean_iou"] == pytest.approx(0.5375)
    assert summary["overall_iou"] == pytest.approx(13 / 21)
    assert summary["precision"] == {
        "Pr@50": 0.75,
        "Pr@60": 0.5,
        "Pr@70": 0.5,
        "Pr@80": 0.25,
        "Pr@90": 0.25,
    }


def test_threshold_boundary_counts_with_greater_or_equal():
    # Each IoU equals a threshold exactly: 1/2, 3/5, 7/10, 4/5, 9/10.
    summary = summarize_ious([1, 3, 7, 4, 9], [2, 5, 10, 5, 10])
    assert summary["precision"] == {
        "Pr@50": 1.0,
        "Pr@60": 0.8,
        "Pr@70": 0.6,
        "Pr@80": 0.4,
        "Pr@90": 0.2,
    }


def test_mean_and_overall_iou_differ_when_sizes_differ():
    # A small object missed and a large one found: mean IoU 0.5, overall IoU 100/110.
    summary = summarize_ious([0, 100], [10, 100])
    assert summary["mean_iou"] == pytest.approx(0.5)
    assert summary["overall_iou"] == pytest.approx(100 / 110)


def test_custom_thresholds():
    summary = summarize_ious([1], [4], thresholds=(0.25, 0.3))
    assert summary["precision"] == {"Pr@25": 1.0, "Pr@30": 0.0}
    assert PRECISION_THRESHOLDS == (0.5, 0.6, 0.7, 0.8, 0.9)


@pytest.mark.parametrize(
    ("intersections", "unions", "message"),
    [([], [], "zero expressions"), ([1], [1, 2], "pairs"), ([3], [2], "intersection <= union")],
)
def test_bad_summary_input_is_refused(intersections, unions, message):
    with pytest.raises(ValueError, match=message):
        summarize_ious(intersections, unions)
