"""The transformer mask decoder with a learnable query token (eq. 5, following the paper's text)."""

from __future__ import annotations

import torch
from torch import nn

from haris.modeling.mask_upsampler import MaskUpsampler
from haris.modeling.position_encoding import sine_position_encoding


class TransformerMaskDecoder(nn.Module):
    """Queries: [M, vision-aware words]; keys/values: language-aware visual tokens + 2D positions.

    The refined M token, projected, is dotted with the upsampled visual tokens to give the logits.
    """

    def __init__(self, dim: int, layers: nn.ModuleList, upsampler: MaskUpsampler, upsample_dim: int) -> None:
        super().__init__()
        self.dim = dim
        self.query_token = nn.Parameter(torch.randn(1, 1, dim) * 0.02)
        self.layers = layers
        self.upsampler = upsampler
        self.mask_embed = nn.Sequential(nn.Linear(dim, dim), nn.ReLU(inplace=True), nn.Linear(dim, upsample_dim))

    def forward(self, vis_tokens: torch.Tensor, lang_tokens: torch.Tensor, text_mask: torch.Tensor) -> torch.Tensor:
        """vis (B, C, H, W), lang (B, L, C), mask (B, L) -> mask_logits (B, 1, 4H, 4W)."""
        batch, _, height, width = vis_tokens.shape
        memory = vis_tokens.flatten(2).transpose(1, 2)
        memory_pos = sine_position_encoding(height, width, self.dim, vis_tokens.device, vis_tokens.dtype)
        queries = torch.cat([self.query_token.expand(batch, -1, -1).to(lang_tokens.dtype), lang_tokens], dim=1)
        query_mask = torch.cat([torch.ones_like(text_mask[:, :1]), text_mask], dim=1)
        for layer in self.layers:
            queries = layer(queries, query_mask, memory, memory_pos)
        return self.upsampler.mask_logits(vis_tokens, self.mask_embed(queries[:, 0]))
