"""One standard (post-norm) Transformer decoder layer with a key mask on its self-attention."""

from __future__ import annotations

import torch
from torch import nn

from haris.modeling.multi_head_attention import MultiHeadAttention


class DecoderLayer(nn.Module):
    def __init__(self, dim: int, heads: int, mlp_dim: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.self_attention = MultiHeadAttention(dim, heads, dropout)
        self.self_norm = nn.LayerNorm(dim)
        self.cross_attention = MultiHeadAttention(dim, heads, dropout)
        self.cross_norm = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, mlp_dim), nn.ReLU(inplace=True), nn.Dropout(dropout), nn.Linear(mlp_dim, dim))
        self.mlp_norm = nn.LayerNorm(dim)
        self.dropout = nn.Dropout(dropout)

    def forward(self, queries: torch.Tensor, query_mask: torch.Tensor, memory: torch.Tensor, memory_pos: torch.Tensor) -> torch.Tensor:
        """queries (B, Q, C) with mask (B, Q); memory (B, Lv, C) and its position encoding (Lv, C)."""
        queries = self.self_norm(queries + self.dropout(self.self_attention(queries, queries, queries, query_mask)))
        attended = self.cross_attention(queries, memory + memory_pos, memory)
        queries = self.cross_norm(queries + self.dropout(attended))
        return self.mlp_norm(queries + self.dropout(self.mlp(queries)))
