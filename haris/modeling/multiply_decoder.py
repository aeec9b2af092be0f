"""The CRIS-style decoder of the `r. DE` ablation: visual features times the averaged words."""

from __future__ import annotations

import torch
from torch import nn

from haris.modeling.mask_upsampler import MaskUpsampler


class MultiplyDecoder(nn.Module):
    def __init__(self, dim: int, upsampler: MaskUpsampler, upsample_dim: int) -> None:
        super().__init__()
        self.upsampler = upsampler
        self.lang_proj = nn.Linear(dim, upsample_dim)

    def forward(self, vis_tokens: torch.Tensor, lang_tokens: torch.Tensor, text_mask: torch.Tensor) -> torch.Tensor:
        """Same contract as TransformerMaskDecoder.forward."""
        weights = text_mask.to(lang_tokens.dtype)[..., None]
        pooled = (lang_tokens * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1.0)
        return self.upsampler.mask_logits(vis_tokens, self.lang_proj(pooled))
