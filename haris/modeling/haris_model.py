"""The HARIS model: four stage methods with the tensor names of the contract (runtime/tensor_contract.py)."""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

from haris.config.model_config import ModelConfig
from haris.modeling.encoder_sizes import EncoderSizes
from haris.modeling.hierarchical_fusion import HierarchicalFusion
from haris.modeling.image_encoder import ImageEncoder
from haris.modeling.text_encoder import TextEncoder


class ImageFeatures(NamedTuple):
    image_feats_1: torch.Tensor  # (N, Cv, S/16, S/16), shallow
    image_feats_2: torch.Tensor  # middle
    image_feats_3: torch.Tensor  # deep


class TextFeatures(NamedTuple):
    word_feats: torch.Tensor  # (B, L, Ct), zero at padding
    sentence_feat: torch.Tensor  # (B, Ct)
    text_mask: torch.Tensor  # (B, L) bool, True = real token


class FusedTokens(NamedTuple):
    vis_tokens: torch.Tensor  # (B, C, S/16, S/16)
    lang_tokens: torch.Tensor  # (B, L, C)


class Haris(nn.Module):
    """Encoders frozen (as the paper has them) unless their config says trainable, fusion and decoder
    trained. Build it with `build_model(config)`."""

    def __init__(
        self,
        config: ModelConfig,
        image_encoder: ImageEncoder,
        text_encoder: TextEncoder,
        fusion: HierarchicalFusion,
        decoder: nn.Module,
        encoder_sizes: EncoderSizes | None = None,
    ) -> None:
        super().__init__()
        self.config = config
        self.encoder_sizes = encoder_sizes  # what the encoders were built with; checkpoints record it
        self.image_encoder = image_encoder
        self.text_encoder = text_encoder
        self.fusion = fusion
        self.decoder = decoder

    def encode_image(self, image: torch.Tensor) -> ImageFeatures:
        """image f32 (N, 3, S, S), normalized and padded."""
        size = self.config.image_size
        if image.dim() != 4 or image.shape[1] != 3 or image.shape[-2:] != (size, size):
            raise ValueError(f"image must be (N, 3, {size}, {size}), got {tuple(image.shape)}")
        return ImageFeatures(*self.image_encoder(image))

    def encode_text(self, text_tokens: torch.Tensor) -> TextFeatures:
        """text_tokens int (B, L), 1 <= L <= max_words, padded with 0 after the end token."""
        if text_tokens.dim() != 2 or not 1 <= text_tokens.shape[1] <= self.config.max_words:
            raise ValueError(f"text_tokens must be (B, L) with 1 <= L <= {self.config.max_words}, got {tuple(text_tokens.shape)}")
        return TextFeatures(*self.text_encoder(text_tokens))

    def fuse(
        self,
        image_feats_1: torch.Tensor,
        image_feats_2: torch.Tensor,
        image_feats_3: torch.Tensor,
        word_feats: torch.Tensor,
        sentence_feat: torch.Tensor,
        text_mask: torch.Tensor,
    ) -> FusedTokens:
        """Image features with N = 1 are broadcast to the B expressions; N = B pairs them up."""
        batch, images = word_feats.shape[0], image_feats_1.shape[0]
        if not torch.compiler.is_exporting() and images not in (1, batch):
            raise ValueError(f"image features must have N = 1 or N = B = {batch}, got N = {images}")
        # Expression b reads image row min(b, N - 1): image 0 for N = 1, image b for N = B, in one
        # graph (torch.export cannot express "N is 1 or B" with expand(); it would guard N == B).
        # The fusion gathers by these rows only after what depends on the image alone.
        rows = torch.arange(batch, device=word_feats.device).clamp(max=images - 1)
        taps = [image_feats_1, image_feats_2, image_feats_3]
        return FusedTokens(*self.fusion(taps, word_feats, sentence_feat, text_mask, rows))

    def decode(self, vis_tokens: torch.Tensor, lang_tokens: torch.Tensor, text_mask: torch.Tensor) -> torch.Tensor:
        """-> mask_logits f32 (B, 1, S/4, S/4)."""
        return self.decoder(vis_tokens, lang_tokens, text_mask)

    def forward(self, image: torch.Tensor, text_tokens: torch.Tensor) -> torch.Tensor:
        """image (N, 3, S, S) with N = 1 or B, text_tokens (B, L) -> mask_logits (B, 1, S/4, S/4)."""
        return self.segment_features(self.encode_image(image), text_tokens)

    def segment_features(self, image_feats: ImageFeatures, text_tokens: torch.Tensor) -> torch.Tensor:
        """forward() from image features already computed (a frozen encoder's, cached in training)."""
        text = self.encode_text(text_tokens)
        fused = self.fuse(*image_feats, *text)
        return self.decode(fused.vis_tokens, fused.lang_tokens, text.text_mask)

    def run_stage(self, stage: str, *inputs: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """One stage by its contract name ("haris": the whole model), its outputs as a tuple: what the
        export adapter traces and the eager backend runs."""
        if stage == "image_encoder":
            return tuple(self.encode_image(*inputs))
        if stage == "text_encoder":
            return tuple(self.encode_text(*inputs))
        if stage == "fusion":
            return tuple(self.fuse(*inputs))
        if stage == "decoder":
            return (self.decode(*inputs),)
        if stage == "haris":
            return (self(*inputs),)
        raise ValueError(f"unknown stage {stage!r}; stages are image_encoder, text_encoder, fusion, decoder, haris")

    def trainable_parameters(self) -> list[nn.Parameter]:
        return [parameter for parameter in self.parameters() if parameter.requires_grad]
