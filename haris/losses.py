"""Sigmoid focal + dice loss (eq. 6). Training imports this; the model never does."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def sigmoid_focal_loss(logits: torch.Tensor, targets: torch.Tensor, alpha: float = 0.25, gamma: float = 2.0) -> torch.Tensor:
    """Mean over pixels of the focal loss (Lin et al.), per sample: (B, ...) -> (B,)."""
    probabilities = logits.sigmoid()
    cross_entropy = F.binary_cross_entropy_with_logits(logits, targets, reduction="none")
    p_true = probabilities * targets + (1 - probabilities) * (1 - targets)
    loss = cross_entropy * (1 - p_true) ** gamma
    if alpha >= 0:
        loss = loss * (alpha * targets + (1 - alpha) * (1 - targets))
    return loss.flatten(1).mean(dim=1)


def dice_loss(logits: torch.Tensor, targets: torch.Tensor, smooth: float = 1.0) -> torch.Tensor:
    """1 - soft dice per sample: (B, ...) -> (B,). `smooth` keeps empty masks finite."""
    probabilities = logits.sigmoid().flatten(1)
    targets = targets.flatten(1)
    intersection = (probabilities * targets).sum(dim=1)
    return 1 - (2 * intersection + smooth) / (probabilities.sum(dim=1) + targets.sum(dim=1) + smooth)


class FocalDiceLoss(nn.Module):
    """L = focal_weight * L_focal + dice_weight * L_dice, averaged over the batch."""

    def __init__(self, focal_weight: float = 1.0, dice_weight: float = 1.0, alpha: float = 0.25, gamma: float = 2.0) -> None:
        super().__init__()
        self.focal_weight, self.dice_weight = focal_weight, dice_weight
        self.alpha, self.gamma = alpha, gamma

    def forward(self, mask_logits: torch.Tensor, target_masks: torch.Tensor) -> torch.Tensor:
        """mask_logits and target_masks (B, 1, h, w), targets in {0, 1}, same resolution."""
        if mask_logits.shape != target_masks.shape:
            raise ValueError(f"logits {tuple(mask_logits.shape)} and targets {tuple(target_masks.shape)} differ in shape")
        targets = target_masks.to(mask_logits.dtype)
        focal = sigmoid_focal_loss(mask_logits, targets, self.alpha, self.gamma)
        dice = dice_loss(mask_logits, targets)
        return (self.focal_weight * focal + self.dice_weight * dice).mean()
