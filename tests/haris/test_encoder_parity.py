"""On identical weights our encoders give what segment_anything's and open_clip's own code give."""

from __future__ import annotations

from functools import partial

import open_clip
import pytest
import torch
from segment_anything import build_sam_vit_b
from segment_anything.modeling.image_encoder import ImageEncoderViT
from tiny_models import SENTENCES, random_image

from haris.config import load_model_config
from haris.modeling.foreign_weights import load_clip_text_weights, load_sam_weights
from haris.modeling.image_encoder import resize_pos_embed
from haris.modeling.model_builder import build_image_encoder, build_text_encoder


def block_outputs(sam_encoder: ImageEncoderViT, image: torch.Tensor) -> list[torch.Tensor]:
    """Every block's output of SAM's own encoder, caught with forward hooks, as (N, C, H, W)."""
    outputs = []
    hooks = [b.register_forward_hook(lambda _m, _i, out: outputs.append(out.permute(0, 3, 1, 2))) for b in sam_encoder.blocks]
    with torch.inference_mode():
        sam_encoder(image)
    for hook in hooks:
        hook.remove()
    return outputs


def test_tiny_taps_equal_sam_block_outputs(tmp_path):
    torch.manual_seed(0)
    sam_encoder = ImageEncoderViT(
        img_size=256,
        embed_dim=32,
        depth=3,
        num_heads=2,
        global_attn_indexes=(2,),
        window_size=4,
        norm_layer=partial(torch.nn.LayerNorm, eps=1e-6),
        use_rel_pos=True,
        rel_pos_zero_init=False,
    ).eval()
    torch.nn.init.normal_(sam_encoder.pos_embed, std=0.1)
    torch.save(sam_encoder.state_dict(), tmp_path / "encoder_only.pth")
    config = load_model_config("tiny")
    encoder = build_image_encoder(config)
    load_sam_weights(encoder, tmp_path / "encoder_only.pth", config)
    image = random_image(256)
    with torch.inference_mode():
        taps = encoder(image)
    for tap, expected in zip(taps, block_outputs(sam_encoder, image)):
        assert torch.equal(tap, expected)


def test_official_sam_layout_loads_into_the_paper_preset_at_another_size(tmp_path):
    torch.manual_seed(0)
    sam = build_sam_vit_b().eval()
    torch.nn.init.normal_(sam.image_encoder.pos_embed, std=0.1)
    torch.save(sam.state_dict(), tmp_path / "sam_vit_b.pth")  # keys carry the `image_encoder.` prefix
    config = load_model_config("paper", ["image_size=256"])
    encoder = build_image_encoder(config)
    load_sam_weights(encoder, tmp_path / "sam_vit_b.pth", config)
    # SAM's own encoder at 256: resize its absolute position embedding; it interpolates the rest.
    sam.image_encoder.pos_embed.data = resize_pos_embed(sam.image_encoder.pos_embed.data, 16)
    image = random_image(256)
    with torch.inference_mode():
        taps = encoder(image)
    expected = block_outputs(sam.image_encoder, image)
    for tap, block_number in zip(taps, config.image_encoder.tap_blocks):
        assert torch.equal(tap, expected[block_number - 1])


def test_pos_embed_resize_is_bicubic_and_identity_at_the_same_size():
    pos_embed = torch.randn(1, 8, 8, 4)
    assert torch.equal(resize_pos_embed(pos_embed, 8), pos_embed)
    expected = torch.nn.functional.interpolate(pos_embed.permute(0, 3, 1, 2), size=(4, 4), mode="bicubic")
    torch.testing.assert_close(resize_pos_embed(pos_embed, 4), expected.permute(0, 2, 3, 1))


def check_sentence_feature_matches_open_clip(clip_model, preset: str, tmp_path, tokenizer) -> None:
    torch.save(clip_model.state_dict(), tmp_path / "clip.pt")
    config = load_model_config(preset)
    encoder = build_text_encoder(config).eval()
    load_clip_text_weights(encoder, tmp_path / "clip.pt", config)
    with torch.inference_mode():
        expected = clip_model.encode_text(tokenizer(SENTENCES, context_length=77))
        word_feats, sentence_feat, text_mask = encoder(tokenizer(SENTENCES, context_length=config.max_words).int())
    torch.testing.assert_close(sentence_feat, expected, rtol=1e-5, atol=1e-5)
    assert text_mask.sum(dim=1).tolist() == [len(tokenizer.encode(s)) + 2 for s in SENTENCES]


def test_tiny_sentence_feature_equals_open_clip_encode_text(tmp_path, tokenizer):
    torch.manual_seed(0)
    clip_model = open_clip.model.CLIP(
        embed_dim=32,
        vision_cfg={"image_size": 32, "layers": 1, "width": 32, "patch_size": 16, "head_width": 16},
        text_cfg={"context_length": 77, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 2},
    ).eval()
    check_sentence_feature_matches_open_clip(clip_model, "tiny", tmp_path, tokenizer)


@pytest.mark.slow
def test_vit_b_16_sentence_feature_equals_open_clip_encode_text(tmp_path, tokenizer):
    torch.manual_seed(0)
    clip_model = open_clip.create_model("ViT-B-16", pretrained=None).eval()
    check_sentence_feature_matches_open_clip(clip_model, "paper", tmp_path, tokenizer)
