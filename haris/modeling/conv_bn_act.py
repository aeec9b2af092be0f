"""CBA of eq. 4: 3x3 convolution, batch norm, activation."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class ConvBnAct(nn.Sequential):
    def __init__(self, in_channels: int, out_channels: int, activation: bool = True) -> None:
        layers = [nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1, bias=False), nn.BatchNorm2d(out_channels)]
        if activation:
            layers.append(nn.ReLU(inplace=True))
        super().__init__(*layers)

    def forward_concat(self, per_row: torch.Tensor, shared: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
        """self(cat([per_row, shared[rows]], dim=1)), with the convolution of `shared` done once per
        row of `shared` instead of once per row of `per_row`.

        A convolution over a channel concat is the sum of convolutions over its parts; when many
        expressions share one image, the image's part (3/4 of the channels for ViT-B) is computed
        once and gathered, which is most of the fusion's cost per expression at S=1024.
        """
        conv = self[0]
        split = per_row.shape[1]
        mixed = F.conv2d(per_row, conv.weight[:, :split], padding=conv.padding)
        mixed = mixed + F.conv2d(shared, conv.weight[:, split:], padding=conv.padding)[rows]
        for layer in list(self)[1:]:  # batch norm, activation (slicing would rebuild this class)
            mixed = layer(mixed)
        return mixed
