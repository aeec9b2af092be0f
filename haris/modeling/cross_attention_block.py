"""A conventional cross-attention fusion block: the `r. CA` ablation of table II."""

from __future__ import annotations

import torch
from torch import nn

from haris.modeling.multi_head_attention import MultiHeadAttention


class CrossAttentionBlock(nn.Module):
    """Visual tokens attend to the words (bottom-up only, no feedback); words pass through projected.

    Same interface as HumanLikeAttention so the hierarchy can hold either.
    """

    def __init__(self, vis_dim: int, lang_dim: int, dim: int, heads: int, mlp_ratio: float = 4.0) -> None:
        super().__init__()
        self.vis_in = nn.Linear(vis_dim, dim)
        self.lang_in = nn.Linear(lang_dim, dim)
        self.attention = MultiHeadAttention(dim, heads)
        self.attention_norm = nn.LayerNorm(dim)
        hidden = int(dim * mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim))
        self.mlp_norm = nn.LayerNorm(dim)
        self.lang_norm = nn.LayerNorm(dim)

    def forward(
        self,
        vis_tokens: torch.Tensor,
        lang_tokens: torch.Tensor,
        sentence_feat: torch.Tensor,
        text_mask: torch.Tensor,
        rows: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Same shapes as HumanLikeAttention.forward; `sentence_feat` is unused by this block."""
        vis_embed = self.vis_in(vis_tokens)
        if rows is not None:
            vis_embed = vis_embed[rows]
        lang_embed = self.lang_in(lang_tokens)
        vis_embed = self.attention_norm(vis_embed + self.attention(vis_embed, lang_embed, lang_embed, text_mask))
        vis_embed = self.mlp_norm(vis_embed + self.mlp(vis_embed))
        return vis_embed, self.lang_norm(lang_embed) * text_mask[..., None]
