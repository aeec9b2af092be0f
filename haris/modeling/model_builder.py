"""The one builder of HARIS: encoders sized from their resolved sizes (encoder_sizes), fusion and decoder from the config."""

from __future__ import annotations

from functools import partial
from typing import Any

from open_clip.transformer import LayerNorm, QuickGELU, TextTransformer
from segment_anything.modeling.image_encoder import ImageEncoderViT
from torch import nn

from haris.config.model_config import FusionConfig, ModelConfig
from haris.errors import ConfigError
from haris.modeling.conv_bn_act import ConvBnAct
from haris.modeling.cross_attention_block import CrossAttentionBlock
from haris.modeling.decoder_layer import DecoderLayer
from haris.modeling.encoder_sizes import EncoderSizes
from haris.modeling.foreign_weights import load_clip_text_weights, load_sam_weights
from haris.modeling.haris_model import Haris
from haris.modeling.hierarchical_fusion import HierarchicalFusion
from haris.modeling.human_like_attention import HumanLikeAttention
from haris.modeling.image_encoder import ImageEncoder
from haris.modeling.mask_upsampler import MaskUpsampler
from haris.modeling.multiply_decoder import MultiplyDecoder
from haris.modeling.text_encoder import TextEncoder
from haris.modeling.transformer_mask_decoder import TransformerMaskDecoder


def build_model(config: ModelConfig, load_pretrained: bool = False, sizes: EncoderSizes | None = None) -> Haris:
    """Build HARIS from its config. Loading foreign weights is opt-in: with `load_pretrained` the
    SAM and CLIP files the config names are read into the encoders. `sizes`: the encoders' resolved
    sizes (a checkpoint's); None resolves the config's encoder names."""
    sizes = sizes or EncoderSizes.resolve(config)
    image_encoder = build_image_encoder(config, sizes.image_encoder)
    text_encoder = build_text_encoder(config, sizes.text_encoder)
    if load_pretrained:
        if config.image_encoder.checkpoint:
            load_sam_weights(image_encoder, config.image_encoder.checkpoint, config)
        if config.text_encoder.checkpoint:
            load_clip_text_weights(text_encoder, config.text_encoder.checkpoint, config)
    fusion = build_fusion(config.fusion, image_encoder.embed_dim, text_encoder.output_dim)
    return Haris(config, image_encoder, text_encoder, fusion, build_decoder(config), sizes)


def build_image_encoder(config: ModelConfig, sizes: dict[str, Any] | None = None) -> ImageEncoder:
    """SAM's ViT at `sizes` (ImageEncoderViT's size arguments; None: those of the config's encoder name)."""
    sizes = sizes or EncoderSizes.resolve(config).image_encoder
    if config.image_encoder.tap_blocks[-1] > sizes["depth"]:
        raise ConfigError(
            f"image_encoder.tap_blocks {list(config.image_encoder.tap_blocks)} reach past the "
            f"{sizes['depth']} blocks of '{config.image_encoder.name}'"
        )
    vit = ImageEncoderViT(
        **sizes,
        patch_size=16,
        mlp_ratio=4.0,
        qkv_bias=True,
        norm_layer=partial(nn.LayerNorm, eps=1e-6),
        use_rel_pos=True,
        out_chans=256,
    )
    return ImageEncoder(vit, config.image_encoder.tap_blocks, config.image_size, config.image_encoder.trainable)


def build_text_encoder(config: ModelConfig, clip_config: dict[str, Any] | None = None) -> TextEncoder:
    """The text tower of an open_clip model config (None: the config's text encoder name's)."""
    clip_config = clip_config or EncoderSizes.resolve(config).text_encoder
    text_cfg = clip_config["text_cfg"]
    tower = TextTransformer(
        context_length=config.max_words,
        vocab_size=text_cfg.get("vocab_size", 49408),
        width=text_cfg["width"],
        heads=text_cfg["heads"],
        layers=text_cfg["layers"],
        mlp_ratio=text_cfg.get("mlp_ratio", 4.0),
        ls_init_value=text_cfg.get("ls_init_value"),
        output_dim=clip_config["embed_dim"],
        proj_bias=text_cfg.get("proj_bias", False),
        act_layer=QuickGELU if clip_config.get("quick_gelu") else nn.GELU,
        norm_layer=LayerNorm,
    )
    return TextEncoder(
        tower,
        pad_id=text_cfg.get("pad_id", 0),
        trainable=config.text_encoder.trainable,
        train_token_embedding=config.text_encoder.train_token_embedding,
    )


def build_fusion(config: FusionConfig, image_dim: int, text_dim: int) -> HierarchicalFusion:
    blocks = nn.ModuleList(
        _fusion_block(config, vis_dim=image_dim if index == 0 else config.dim, lang_dim=text_dim if index == 0 else config.dim, sentence_dim=text_dim)
        for index in range(3)
    )
    merges = nn.ModuleList(ConvBnAct(config.dim + image_dim, config.dim) for _ in range(2))
    return HierarchicalFusion(blocks, merges, hierarchical=config.hierarchical)


def _fusion_block(config: FusionConfig, vis_dim: int, lang_dim: int, sentence_dim: int) -> nn.Module:
    if config.block == "cross_attention":
        return CrossAttentionBlock(vis_dim, lang_dim, config.dim, config.cross_attention_heads)
    return HumanLikeAttention(
        vis_dim,
        lang_dim,
        sentence_dim,
        config.dim,
        config.feedback_mlp_ratio,
        feedback=config.feedback,
        vision_weighted=config.vision_weighted,
        language_weighted=config.language_weighted,
    )


def build_decoder(config: ModelConfig) -> nn.Module:
    dim, decoder = config.fusion.dim, config.decoder
    upsampler = MaskUpsampler(dim, decoder.upsample_dim)
    if decoder.kind == "multiply":
        return MultiplyDecoder(dim, upsampler, decoder.upsample_dim)
    layers = nn.ModuleList(DecoderLayer(dim, decoder.heads, decoder.mlp_dim, decoder.dropout) for _ in range(decoder.layers))
    return TransformerMaskDecoder(dim, layers, upsampler, decoder.upsample_dim)


def count_parameters(module: nn.Module, trainable_only: bool = False) -> int:
    return sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable_only)
