"""Segment Anything's ViT image encoder, frozen, returning three block outputs as feature maps."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from segment_anything.modeling.image_encoder import ImageEncoderViT
from torch import nn

from haris.modeling.position_encoding import sine_position_encoding


class ImageEncoder(nn.Module):
    """Taps the outputs of three ViT blocks; SAM's neck (its 256-channel projection) is not used.

    The ViT is built at its pretraining size so SAM's relative-position tables keep their shape
    (SAM interpolates them on the fly); only the absolute position embedding is resized, once, to
    the grid of `image_size` (see `resize_pos_embed`). Blocks after the deepest tap are dropped.
    """

    def __init__(self, vit: ImageEncoderViT, tap_blocks: tuple[int, int, int], image_size: int, trainable: bool = False) -> None:
        super().__init__()
        if tap_blocks[-1] > len(vit.blocks):
            raise ValueError(f"tap block {tap_blocks[-1]} is past the encoder's {len(vit.blocks)} blocks")
        del vit.neck
        vit.blocks = vit.blocks[: tap_blocks[-1]]
        grid = image_size // vit.patch_embed.proj.stride[0]
        if vit.pos_embed is not None:
            # SAM's constructor leaves the absolute position embedding at zero for its checkpoint to
            # fill; until one does, a 2D sine embedding lets a fresh encoder's features carry position.
            vit.pos_embed = nn.Parameter(
                sine_position_encoding(grid, grid, vit.pos_embed.shape[-1], torch.device("cpu"), torch.float32).reshape(1, grid, grid, -1)
            )
        self.vit = vit
        self.tap_blocks = tuple(tap_blocks)
        self.trainable = trainable
        self.requires_grad_(trainable)

    @property
    def embed_dim(self) -> int:
        return self.vit.patch_embed.proj.out_channels

    def train(self, mode: bool = True) -> ImageEncoder:
        # A frozen encoder stays in eval mode whatever its parent does.
        return super().train(mode and self.trainable)

    def forward(self, image: torch.Tensor) -> list[torch.Tensor]:
        """image (N, 3, S, S) normalized -> three maps (N, Cv, S/16, S/16)."""
        with torch.set_grad_enabled(self.trainable and torch.is_grad_enabled()):
            tokens = self.vit.patch_embed(image)
            if self.vit.pos_embed is not None:
                tokens = tokens + self.vit.pos_embed
            taps = []
            for number, block in enumerate(self.vit.blocks, start=1):
                tokens = block(tokens)
                if number in self.tap_blocks:
                    taps.append(tokens.permute(0, 3, 1, 2))
        return taps


def resize_pos_embed(pos_embed: torch.Tensor, grid: int) -> torch.Tensor:
    """(1, G, G, C) -> (1, grid, grid, C), bicubic, as for running SAM at another input size."""
    channels_first = pos_embed.permute(0, 3, 1, 2).float()
    resized = F.interpolate(channels_first, size=(grid, grid), mode="bicubic", align_corners=False)
    return resized.permute(0, 2, 3, 1).to(pos_embed.dtype).contiguous()
