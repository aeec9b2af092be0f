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
    model = build_model(load_model_config("tiny", list(overrides)))
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 2.0)
    return model.eval()


def random_image(size: int, batch: int = 1, seed: int = 0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(batch, 3, size, size, generator=generator)


def build_tiny_with_masks(seed: int = 0):
    """The tiny HARIS with its pixel embeddings centred on a demo scene, so that its random mask
    logits straddle zero (masks of 30-55% of the image that differ per expression) instead of
    being empty: parity tests then compare real masks."""
    from haris.export.check_samples import demo_inputs

    model = build_tiny(seed=seed)
    image, tokens = demo_inputs(model, 4)
    with torch.no_grad():
        fused = model.fuse(*model.encode_image(image), *model.encode_text(tokens))
        pixel_embed = model.decoder.upsampler(fused.vis_tokens)
        model.decoder.upsampler.second[1].bias -= pixel_embed.mean(dim=(0, 2, 3))
    return model
