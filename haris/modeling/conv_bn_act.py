"""CBA of eq. 4: 3x3 convolution, batch norm, activation."""

from __future__ import annotations

from torch import nn


class ConvBnAct(nn.Sequential):
    def __init__(self, in_channels: int, out_channels: int, activation: bool = True) -> None:
        layers = [nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1, bias=False), nn.BatchNorm2d(out_channels)]
        if activation:
            layers.append(nn.ReLU(inplace=True))
        super().__init__(*layers)
