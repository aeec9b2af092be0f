"""Hand-written multi-head attention and the masked softmax every attention here uses.

Written out (not nn.MultiheadAttention) so the key length stays dynamic through the TorchScript
ONNX exporter, and so the logit matmul and softmax are plain nodes an FP16 converter can keep FP32.
"""

from __future__ import annotations

import math

import torch
from torch import nn


def masked_softmax(logits: torch.Tensor, mask: torch.Tensor, dim: int) -> torch.Tensor:
    """Softmax over `dim` where `mask` (broadcastable bool, True = keep) is False gets weight 0.

    The fill is the dtype's finite minimum rather than -inf, so a fully masked row gives a uniform
    softmax instead of NaN; multiplying by the mask then makes that row exactly zero.
    """
    filled = logits.masked_fill(~mask, torch.finfo(logits.dtype).min)
    return filled.softmax(dim=dim) * mask.to(logits.dtype)


class MultiHeadAttention(nn.Module):
    """Scaled dot-product attention with separate q/k/v projections and an optional key mask."""

    def __init__(self, dim: int, heads: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.heads = heads
        self.head_dim = dim // heads
        self.q_proj = nn.Linear(dim, dim)
        self.k_proj = nn.Linear(dim, dim)
        self.v_proj = nn.Linear(dim, dim)
        self.out_proj = nn.Linear(dim, dim)
        self.dropout = nn.Dropout(dropout)

    def forward(
        self,
        query: torch.Tensor,
        key: torch.Tensor,
        value: torch.Tensor,
        key_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """query (B, Lq, C), key/value (B, Lk, C), key_mask (B, Lk) True = real -> (B, Lq, C)."""
        q_heads = self._split_heads(self.q_proj(query))
        k_heads = self._split_heads(self.k_proj(key))
        v_heads = self._split_heads(self.v_proj(value))
        logits = q_heads @ k_heads.transpose(-1, -2) / math.sqrt(self.head_dim)
        if key_mask is None:
            weights = logits.softmax(dim=-1)
        else:
            weights = masked_softmax(logits, key_mask[:, None, None, :], dim=-1)
        attended = self.dropout(weights) @ v_heads
        batch = query.shape[0]
        return self.out_proj(attended.transpose(1, 2).reshape(batch, -1, self.heads * self.head_dim))

    def _split_heads(self, tokens: torch.Tensor) -> torch.Tensor:
        return tokens.reshape(tokens.shape[0], -1, self.heads, self.head_dim).transpose(1, 2)
