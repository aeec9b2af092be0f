"""HARIS seen from its image features: what DistributedDataParallel wraps when they are cached."""

from __future__ import annotations

import torch
from torch import nn

from haris.modeling.haris_model import Haris, ImageFeatures


class FeatureInputModel(nn.Module):
    """forward(image_feats, text_tokens) -> mask_logits. DDP only synchronises gradients of what
    runs inside a wrapped module's forward, so the features-in entry point needs a module of its own."""

    def __init__(self, model: Haris) -> None:
        super().__init__()
        self.model = model

    def forward(self, image_feats: ImageFeatures, text_tokens: torch.Tensor) -> torch.Tensor:
        return self.model.segment_features(image_feats, text_tokens)
