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
        """(B, C, H, W) -> pixel embeddings (B, out_channels, 4H, 4W)."""
        return self.upsample(self._half_size_embed(vis_map))

    def mask_logits(self, vis_map: torch.Tensor, mask_embed: torch.Tensor) -> torch.Tensor:
        """vis (B, C, H, W), mask_embed (B, out_channels) -> the logits (B, 1, 4H, 4W) of their dot
        product over channels at every pixel of forward(vis_map).

        Bilinear upsampling is linear and the same for every channel, so it commutes with the dot
        product: the last upsampling runs on the one logit channel instead of all out_channels
        (the same function, and a shorter CPU training step of the tiny preset: docs/measurements.md).
        """
        pixel_embed = self._half_size_embed(vis_map)
        return self.upsample(torch.einsum("bc,bchw->bhw", mask_embed, pixel_embed)[:, None])

    def _half_size_embed(self, vis_map: torch.Tensor) -> torch.Tensor:
        return self.second(self.upsample(self.first(vis_map)))
