"""The hierarchy of three fusion blocks over the shallow, middle and deep taps (eq. 4)."""

from __future__ import annotations

import torch
from torch import nn


class HierarchicalFusion(nn.Module):
    """Block k fuses visual tokens with the words; CBA(concat(block output, next tap)) feeds block k+1.

    Each block's vision-aware word tokens are the next block's words. With `hierarchical` off
    (the `w/o HS` ablation) every position that would take a tap takes the deep one instead, so the
    ablation keeps the same blocks and parameters and only loses the shallow and middle features.
    """

    def __init__(self, blocks: nn.ModuleList, merges: nn.ModuleList, hierarchical: bool = True) -> None:
        super().__init__()
        if len(merges) != len(blocks) - 1:
            raise ValueError(f"{len(blocks)} fusion blocks need {len(blocks) - 1} merges, got {len(merges)}")
        self.blocks = blocks
        self.merges = merges
        self.hierarchical = hierarchical

    def forward(
        self,
        image_feats: list[torch.Tensor],
        word_feats: torch.Tensor,
        sentence_feat: torch.Tensor,
        text_mask: torch.Tensor,
        image_rows: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """taps [(N, Cv, H, W)] x3, words (B, L, Ct), image_rows (B,): the tap row of each expression
        -> vis_tokens (B, C, H, W), lang_tokens (B, L, C)."""
        taps = image_feats if self.hierarchical else [image_feats[-1]] * len(image_feats)
        batch, (height, width) = word_feats.shape[0], taps[0].shape[-2:]
        # The first block reads the image tokens, N rows, and gathers each expression's row itself,
        # after its input projection; later blocks read per-expression maps.
        vis_tokens, rows, lang_tokens = taps[0].flatten(2).transpose(1, 2), image_rows, word_feats
        for index, block in enumerate(self.blocks):
            vis_tokens, lang_tokens = block(vis_tokens, lang_tokens, sentence_feat, text_mask, rows)
            vis_map = vis_tokens.transpose(1, 2).reshape(batch, -1, height, width)
            if index < len(self.merges):
                vis_map = self.merges[index].forward_concat(vis_map, taps[index + 1], image_rows)
                vis_tokens, rows = vis_map.flatten(2).transpose(1, 2), None
        return vis_map, lang_tokens
