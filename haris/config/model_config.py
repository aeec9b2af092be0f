"""The model config: frozen dataclasses, read from and written to YAML as plain data.

Sizes of the encoders are not here: a config names an encoder, and `haris.modeling.model_builder`
is the one place that knows what each name means.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from haris.errors import ConfigError

SAM_PIXEL_MEAN = (123.675, 116.28, 103.53)
SAM_PIXEL_STD = (58.395, 57.12, 57.375)


@dataclass(frozen=True)
class ImageEncoderConfig:
    """Segment Anything's ViT, frozen unless `trainable`; three taps feed the hierarchical fusion."""

    name: Literal["vit_b", "vit_l", "vit_h", "tiny"] = "vit_b"
    # 1-based block indices whose outputs are the shallow, middle and deep taps.
    tap_blocks: tuple[int, int, int] = (4, 8, 12)
    # Meta's SAM checkpoint file (full SAM or encoder-only); read once when a model is first built.
    checkpoint: str | None = None
    trainable: bool = False

    def __post_init__(self) -> None:
        if list(self.tap_blocks) != sorted(set(self.tap_blocks)) or min(self.tap_blocks) < 1:
            raise ConfigError(f"image_encoder.tap_blocks must be three increasing block numbers >= 1, got {list(self.tap_blocks)}")


@dataclass(frozen=True)
class TextEncoderConfig:
    """An open_clip text tower, frozen unless `trainable`, with its context cut to `max_words`.

    `name` is an open_clip model config ("ViT-B-16"; "ViT-B-16-quickgelu" for OpenAI's weights,
    which were trained with QuickGELU) or "tiny".
    """

    name: str = "ViT-B-16"
    # An open_clip checkpoint file (state dict, .pt/.bin/.safetensors); read once at first build.
    checkpoint: str | None = None
    trainable: bool = False
    # With `trainable`, whether the token embedding table trains too. Its gradient is dense over CLIP's
    # 49,408-token vocabulary: for the tiny tower that is most of what training the text side costs.
    train_token_embedding: bool = True


@dataclass(frozen=True)
class FusionConfig:
    """Human-Like Attention fusion; every switch below is one ablation of the paper's tables II-III."""

    dim: int = 256
    feedback_mlp_ratio: float = 2.0
    block: Literal["hla", "cross_attention"] = "hla"  # "cross_attention": r. CA
    cross_attention_heads: int = 8
    hierarchical: bool = True  # false: w/o HS
    feedback: bool = True  # false: w/o FB
    vision_weighted: bool = True  # false: w/o VW
    language_weighted: bool = True  # false: w/o LW

    def __post_init__(self) -> None:
        if self.dim % self.cross_attention_heads:
            raise ConfigError(f"fusion.dim ({self.dim}) must be divisible by fusion.cross_attention_heads ({self.cross_attention_heads})")


@dataclass(frozen=True)
class DecoderConfig:
    """Transformer mask decoder with a learnable query token, or the CRIS-style multiply decoder."""

    kind: Literal["transformer", "multiply"] = "transformer"  # "multiply": r. DE
    layers: int = 3
    heads: int = 8
    mlp_dim: int = 1024
    dropout: float = 0.0
    upsample_dim: int = 64


@dataclass(frozen=True)
class PreprocessConfig:
    """What the image must look like on the way in; travels with the model into every bundle."""

    pixel_mean: tuple[float, float, float] = SAM_PIXEL_MEAN
    pixel_std: tuple[float, float, float] = SAM_PIXEL_STD


@dataclass(frozen=True)
class ModelConfig:
    """The whole model. `image_size` is S of the tensor contract (docs/design.md); `max_words` is the token context L."""

    image_size: int = 1024
    max_words: int = 17
    image_encoder: ImageEncoderConfig = field(default_factory=ImageEncoderConfig)
    text_encoder: TextEncoderConfig = field(default_factory=TextEncoderConfig)
    fusion: FusionConfig = field(default_factory=FusionConfig)
    decoder: DecoderConfig = field(default_factory=DecoderConfig)
    preprocess: PreprocessConfig = field(default_factory=PreprocessConfig)

    def __post_init__(self) -> None:
        if self.image_size <= 0 or self.image_size % 16:
            raise ConfigError(f"image_size must be a positive multiple of 16 (the ViT patch), got {self.image_size}")
        if self.max_words < 2:
            raise ConfigError(f"max_words must be >= 2 (start and end tokens), got {self.max_words}")
        if self.fusion.dim % self.decoder.heads:
            raise ConfigError(f"fusion.dim ({self.fusion.dim}) must be divisible by decoder.heads ({self.decoder.heads})")
