from __future__ import annotations

import math

import pytest
import torch

from haris.losses import FocalDiceLoss, dice_loss, sigmoid_focal_loss


def test_focal_loss_matches_hand_computation():
    logits = torch.zeros(1, 1, 2, 2)
    targets = torch.tensor([[[[1.0, 1.0], [0.0, 0.0]]]])
    # p = 0.5 everywhere: CE = ln 2, (1 - p_t)^2 = 1/4; alpha 0.25 for positives, 0.75 for negatives.
    expected = math.log(2) * 0.25 * (0.25 + 0.75) / 2
    torch.testing.assert_close(sigmoid_focal_loss(logits, targets), torch.tensor([expected]))


def test_dice_loss_matches_hand_computation():
    logits = torch.zeros(1, 1, 2, 2)
    targets = torch.tensor([[[[1.0, 1.0], [0.0, 0.0]]]])
    # sum p = 2, sum t = 2, intersection 1: 1 - (2 * 1 + 1) / (2 + 2 + 1) = 0.4
    torch.testing.assert_close(dice_loss(logits, targets), torch.tensor([0.4]))


def test_confident_correct_prediction_costs_almost_nothing():
    targets = torch.zeros(2, 1, 8, 8)
    targets[0, :, 2:6, 2:6] = 1  # second sample: an empty mask
    logits = (targets * 2 - 1) * 30
    assert FocalDiceLoss()(logits, targets) < 1e-6


def test_combined_loss_is_the_weighted_sum():
    logits = torch.randn(3, 1, 4, 4, generator=torch.Generator().manual_seed(0))
    targets = (torch.rand(3, 1, 4, 4, generator=torch.Generator().manual_seed(1)) > 0.5).float()
    expected = (2 * sigmoid_focal_loss(logits, targets) + 0.5 * dice_loss(logits, targets)).mean()
    torch.testing.assert_close(FocalDiceLoss(focal_weight=2, dice_weight=0.5)(logits, targets), expected)


def test_shape_mismatch_is_refused():
    with pytest.raises(ValueError, match="differ in shape"):
        FocalDiceLoss()(torch.zeros(1, 1, 4, 4), torch.zeros(1, 1, 8, 8))
