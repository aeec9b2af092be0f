"""Two conv-BN-upsample blocks taking the visual tokens from S/16 to S/4 (paper section III-C)."""

from __future__ import annotations

import torch
from torch import nn

from haris.modeling.conv_bn_act import ConvBnAct


class MaskUpsampler(nn.Module):
    """The first block ends in ReLU; the second does not, so the per-pixel embeddings stay signed
    for the dot product with the query that gives the mask logits."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        middle = max(in_channels // 2, out_channels)
        self.first = ConvBnAct(in_channels, middle)
        self.second = ConvBnAct(middle, out_channels, activation=False)
        self.upsample = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False)

    def forward(self, vis_map: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) -> (B, out_channels, 4H, 4W)."""
        return self.upsample(self.second(self.upsample(self.first(vis_map))))
