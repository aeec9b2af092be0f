"""The sizes behind the encoder names of a config, resolved once and then carried by checkpoints.

`image_encoder.name` names one of Segment Anything's ViTs (or our tiny one of the same class);
`text_encoder.name` names an open_clip model config, whose text tower HARIS uses (or our tiny one,
with CLIP's vocabulary). Resolving a name reads open_clip's model table, which changes with the
installed open_clip; a checkpoint therefore records the resolved sizes (`EncoderSizes`), and a
model rebuilt from it never consults the table again.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from haris.config.model_config import ModelConfig
from haris.errors import ConfigError

# Segment Anything's ViT sizes (segment_anything.build_sam), and a tiny one of the same class.
SAM_VIT_SIZES = {
    "vit_b": dict(embed_dim=768, depth=12, num_heads=12, global_attn_indexes=(2, 5, 8, 11), window_size=14, img_size=1024),
    "vit_l": dict(embed_dim=1024, depth=24, num_heads=16, global_attn_indexes=(5, 11, 17, 23), window_size=14, img_size=1024),
    "vit_h": dict(embed_dim=1280, depth=32, num_heads=16, global_attn_indexes=(7, 15, 23, 31), window_size=14, img_size=1024),
    "tiny": dict(embed_dim=32, depth=3, num_heads=2, global_attn_indexes=(2,), window_size=4, img_size=256),
}
# open_clip model configs give the text sizes; "tiny" is ours, with CLIP's vocabulary.
TINY_CLIP_CONFIG = {"embed_dim": 32, "text_cfg": {"vocab_size": 49408, "width": 32, "heads": 2, "layers": 2}}


@dataclass(frozen=True)
class EncoderSizes:
    image_encoder: dict[str, Any]  # ImageEncoderViT's size arguments
    text_encoder: dict[str, Any]  # the open_clip model config ({"embed_dim", "text_cfg", ...})

    @classmethod
    def resolve(cls, config: ModelConfig) -> EncoderSizes:
        """The sizes the config's encoder names stand for (the text ones from open_clip's table)."""
        name = config.image_encoder.name
        if name not in SAM_VIT_SIZES:
            raise ConfigError(f"image_encoder.name '{name}' is not one of {', '.join(SAM_VIT_SIZES)}")
        return cls(dict(SAM_VIT_SIZES[name]), copy.deepcopy(text_model_config(config.text_encoder.name)))

    def to_dict(self) -> dict[str, Any]:
        return {
            "image_encoder": {key: list(value) if isinstance(value, tuple) else value for key, value in self.image_encoder.items()},
            "text_encoder": self.text_encoder,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EncoderSizes:
        image = {key: tuple(value) if isinstance(value, list) else value for key, value in data["image_encoder"].items()}
        return cls(image, data["text_encoder"])


def text_model_config(name: str) -> dict:
    """open_clip's model config for `name` (or ours for "tiny"), checked to be a plain CLIP text tower."""
    if name == "tiny":
        return TINY_CLIP_CONFIG
    from open_clip import get_model_config

    clip_config = get_model_config(name)
    if clip_config is None:
        raise ConfigError(f"text_encoder.name '{name}' is not an open_clip model config (see open_clip.list_models())")
    text_cfg = clip_config.get("text_cfg", {})
    unsupported = [key for key in ("hf_model_name", "embed_cls", "no_causal_mask") if text_cfg.get(key)]
    if unsupported or text_cfg.get("pool_type", "argmax") != "argmax":
        raise ConfigError(f"text_encoder.name '{name}' is not a CLIP-style causal text tower ({unsupported or 'pool_type'})")
    return clip_config
