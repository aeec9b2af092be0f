"""2D sine position encoding for the decoder's keys (as in DETR)."""

from __future__ import annotations

import math

import torch


def sine_position_encoding(height: int, width: int, dim: int, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """(height * width, dim) encoding: half the channels encode y, half x, as sin/cos pairs."""
    if dim % 4:
        raise ValueError(f"sine position encoding needs a dim divisible by 4, got {dim}")
    quarter = dim // 4
    frequencies = torch.exp(torch.arange(quarter, device=device, dtype=torch.float32) * (-math.log(10000.0) / quarter))
    ys = (torch.arange(height, device=device, dtype=torch.float32) + 0.5) / height * 2 * math.pi
    xs = (torch.arange(width, device=device, dtype=torch.float32) + 0.5) / width * 2 * math.pi
    y_angles = ys[:, None] * frequencies[None, :]
    x_angles = xs[:, None] * frequencies[None, :]
    y_part = torch.cat([y_angles.sin(), y_angles.cos()], dim=1)[:, None, :].expand(height, width, 2 * quarter)
    x_part = torch.cat([x_angles.sin(), x_angles.cos()], dim=1)[None, :, :].expand(height, width, 2 * quarter)
    return torch.cat([y_part, x_part], dim=2).reshape(height * width, dim).to(dtype)
