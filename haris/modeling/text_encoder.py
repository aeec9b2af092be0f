"""An open_clip text tower, frozen unless asked, with its context cut to the maximum words."""

from __future__ import annotations

import torch
from open_clip.transformer import TextTransformer
from torch import nn


class TextEncoder(nn.Module):
    """Word features are every position after `ln_final` and `text_projection`; the sentence
    feature is the end-token position of the same, so it equals open_clip's `encode_text` for any
    sentence that fits. Padding (token id 0, after the end token) never reaches a real position:
    the causal mask keeps it out, and its own features are zeroed.
    """

    def __init__(self, tower: TextTransformer, pad_id: int = 0, trainable: bool = False, train_token_embedding: bool = True) -> None:
        super().__init__()
        if tower.text_projection is None or tower.cls_emb is not None:
            raise ValueError("HARIS needs a CLIP-style text tower: a text projection and no class token")
        self.tower = tower
        self.pad_id = pad_id
        self.trainable = trainable
        self.requires_grad_(trainable)
        tower.token_embedding.requires_grad_(trainable and train_token_embedding)

    @property
    def context_length(self) -> int:
        return self.tower.context_length

    @property
    def output_dim(self) -> int:
        return self.tower.output_dim

    def train(self, mode: bool = True) -> TextEncoder:
        return super().train(mode and self.trainable)

    def forward(self, text_tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """text_tokens (B, L) int, L <= context -> word_feats (B, L, Ct), sentence_feat (B, Ct), text_mask (B, L)."""
        length = text_tokens.shape[1]
        text_mask = text_tokens != self.pad_id
        with torch.set_grad_enabled(self.trainable and torch.is_grad_enabled()):
            tokens = self.tower.token_embedding(text_tokens) + self.tower.positional_embedding[:length]
            tokens = self.tower.transformer(tokens, attn_mask=self.tower.attn_mask[:length, :length])
            word_feats = self._project(self.tower.ln_final(tokens))
        word_feats = word_feats * text_mask[..., None].to(word_feats.dtype)
        return word_feats, self._pick_end_token(word_feats, text_mask), text_mask

    def _project(self, tokens: torch.Tensor) -> torch.Tensor:
        projection = self.tower.text_projection
        return projection(tokens) if isinstance(projection, nn.Linear) else tokens @ projection

    @staticmethod
    def _pick_end_token(word_feats: torch.Tensor, text_mask: torch.Tensor) -> torch.Tensor:
        # The end token is the last real one. A one-hot sum instead of a gather keeps the graph
        # free of data-dependent indexing, and an all-padding row gets a zero sentence feature.
        length = text_mask.shape[1]
        last = text_mask.to(torch.int32).sum(dim=1, keepdim=True) - 1
        positions = torch.arange(length, device=text_mask.device, dtype=torch.int32)[None, :]
        one_hot = (positions == last).to(word_feats.dtype)
        return (word_feats * one_hot[..., None]).sum(dim=1)
