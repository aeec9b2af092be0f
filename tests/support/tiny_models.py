"""Helpers shared by the tests: the tiny preset with seeded weights, inputs, the ablation switches."""

from __future__ import annotations

import torch

from haris.config import load_model_config
from haris.modeling import build_model

# Tables II and III of the paper, as config overrides.
ABLATIONS = {
    "full": [],
    "w/o HS": ["fusion.hierarchical=false"],
    "r. DE": ["decoder.kind=multiply"],
    "r. CA": ["fusion.block=cross_attention"],
    "w/o FB": ["fusion.feedback=false"],
    "w/o VW": ["fusion.vision_weighted=false"],
    "w/o LW": ["fusion.language_weighted=false"],
}

SENTENCES = ["the small red circle left of the blue square", "guy in black", "a", "the big green triangle"]


def build_tiny(overrides: list[str] = (), seed: int = 0):
    """A tiny HARIS in eval mode, with random (seeded) weights and non-trivial batch-norm stats."""
    torch.manual_seed(seed)
    model = build_model(load_model_config("tiny", list(overrides)), load_pretrained=False)
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 2.0)
    return model.eval()


def random_image(size: int, batch: int = 1, seed: int = 0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(batch, 3, size, size, generator=generator)
