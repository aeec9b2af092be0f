"""The Human-Like Attention block (paper section III-A, eq. 1-3)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from haris.modeling.multi_head_attention import masked_softmax


class HumanLikeAttention(nn.Module):
    """Language-Weighted and Vision-Weighted attention from one logit matrix, plus feedback.

    Pass 1 computes `A = E_v E_l^T / sqrt(C)` once; softmax over words (padding masked) gives the
    language-aware visual tokens F_l2v, softmax over positions the vision-aware word tokens F_v2l
    (eq. 2). The feedback branch modulates F_l2v by the sentence (eq. 3), an MLP turns it into a
    signal added to the block's visual input, and the Language-Weighted path runs again with the
    same weights. Its output F_l2v is the block's visual output; F_v2l comes from pass 1.

    The visual input is only ever read through W_v^i, which is linear, so two rewrites give the same
    numbers for less work per expression: the projection runs before the gather of each expression's
    image row (once per image), and the feedback's re-projection W_v^i(v + MLP(x)) is W_v^i v plus
    one product from the MLP's hidden layer (`_feedback_embed`). For the ViT-B taps at 1024 with 16
    expressions that is 60% less arithmetic in the first block (docs/measurements.md).
    """

    def __init__(
        self,
        vis_dim: int,
        lang_dim: int,
        sentence_dim: int,
        dim: int,
        feedback_mlp_ratio: float,
        feedback: bool = True,
        vision_weighted: bool = True,
        language_weighted: bool = True,
    ) -> None:
        super().__init__()
        self.scale = 1.0 / math.sqrt(dim)
        self.feedback = feedback
        self.vision_weighted = vision_weighted
        self.language_weighted = language_weighted
        self.vis_in = nn.Linear(vis_dim, dim)  # W_v^i
        self.lang_in = nn.Linear(lang_dim, dim)  # W_l^i
        self.vis_norm = nn.LayerNorm(dim)
        self.vis_out = nn.Linear(dim, dim)  # W_v^o
        self.lang_norm = nn.LayerNorm(dim)
        self.lang_out = nn.Linear(dim, dim)  # W_l^o
        if feedback:
            hidden = int(dim * feedback_mlp_ratio)
            self.sentence_in = nn.Linear(sentence_dim, dim)
            self.feedback_mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, vis_dim))

    def forward(
        self,
        vis_tokens: torch.Tensor,
        lang_tokens: torch.Tensor,
        sentence_feat: torch.Tensor,
        text_mask: torch.Tensor,
        rows: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """vis (B, Lv, Cv_in), or (N, Lv, Cv_in) with rows (B,) the row of each expression; lang (B, L,
        Cl_in), sentence (B, Ct), mask (B, L) -> (B, Lv, C), (B, L, C)."""
        lang_embed = self.lang_in(lang_tokens)
        vis_embed = self.vis_in(vis_tokens)
        if rows is not None:
            vis_embed = vis_embed[rows]
        logits = vis_embed @ lang_embed.transpose(1, 2) * self.scale
        vision_aware_lang = self._vision_weighted(logits, vis_embed, lang_embed) * text_mask[..., None]
        lang_aware_vis = self._language_weighted(logits, vis_embed, lang_embed, text_mask)
        if self.feedback:
            vis_embed = vis_embed + self._feedback_embed(self._modulate(lang_aware_vis, self.sentence_in(sentence_feat)))
            logits = vis_embed @ lang_embed.transpose(1, 2) * self.scale
            lang_aware_vis = self._language_weighted(logits, vis_embed, lang_embed, text_mask)
        return lang_aware_vis, vision_aware_lang

    def _feedback_embed(self, modulated: torch.Tensor) -> torch.Tensor:
        """W_v^i applied to the feedback signal MLP(modulated), bias excluded: with h the MLP's hidden
        activation, W_v^i (W_2 h + b_2) = (W_v^i W_2) h + W_v^i b_2, so the (B, Lv, Cv_in) signal is never
        formed. The exporter folds the two weight products into constants."""
        hidden = self.feedback_mlp[:-1](modulated)
        output = self.feedback_mlp[-1]
        return F.linear(hidden, self.vis_in.weight @ output.weight, self.vis_in.weight @ output.bias)

    def _language_weighted(self, logits: torch.Tensor, vis_embed: torch.Tensor, lang_embed: torch.Tensor, text_mask: torch.Tensor) -> torch.Tensor:
        if not self.language_weighted:  # w/o LW: the visual tokens pass through unattended
            return self.vis_out(self.vis_norm(vis_embed))
        weights = masked_softmax(logits, text_mask[:, None, :], dim=-1)
        return self.vis_out(self.vis_norm(weights @ lang_embed + vis_embed))

    def _vision_weighted(self, logits: torch.Tensor, vis_embed: torch.Tensor, lang_embed: torch.Tensor) -> torch.Tensor:
        if not self.vision_weighted:  # w/o VW: the words pass through unattended
            return self.lang_out(self.lang_norm(lang_embed))
        weights = logits.softmax(dim=1)  # over visual positions, so each word gathers its region
        return self.lang_out(self.lang_norm(weights.transpose(1, 2) @ vis_embed + lang_embed))

    def _modulate(self, lang_aware_vis: torch.Tensor, sentence: torch.Tensor) -> torch.Tensor:
        # Eq. 3 softmaxes over a single sentence token, which is constant 1; we softmax over the
        # visual positions instead and rescale by their count so the weights average 1.
        relevance = lang_aware_vis @ sentence[:, :, None] * self.scale
        weights = relevance.softmax(dim=1) * lang_aware_vis.shape[1]
        return weights * sentence[:, None, :] + lang_aware_vis
