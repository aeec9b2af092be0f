"""Padding never changes an output; fully padded rows stay finite; only fusion and decoder train."""

from __future__ import annotations

import pytest
import torch
from tiny_models import ABLATIONS, SENTENCES, build_tiny, random_image

from haris.losses import FocalDiceLoss

SMALL_IMAGE = ["image_size=128"]


def run_stages(model, image_feats, word_feats, sentence_feat, text_mask):
    fused = model.fuse(*image_feats, word_feats, sentence_feat, text_mask)
    return fused, model.decode(fused.vis_tokens, fused.lang_tokens, text_mask)


@pytest.mark.parametrize("ablation", list(ABLATIONS))
def test_adding_padding_changes_nothing(ablation, tokenize):
    model = build_tiny(SMALL_IMAGE + ABLATIONS[ablation])
    with torch.inference_mode():
        image_feats = model.encode_image(random_image(128))
        short = model.encode_text(tokenize(SENTENCES, 11))  # 11 tokens fit the longest sentence
        long = model.encode_text(tokenize(SENTENCES, 17))
        fused_short, logits_short = run_stages(model, image_feats, *short)
        fused_long, logits_long = run_stages(model, image_feats, *long)
    torch.testing.assert_close(long.word_feats[:, :11], short.word_feats, rtol=0, atol=1e-5)
    assert long.word_feats[:, 11:].abs().max() == 0
    torch.testing.assert_close(long.sentence_feat, short.sentence_feat, rtol=0, atol=1e-5)
    torch.testing.assert_close(fused_long.vis_tokens, fused_short.vis_tokens, rtol=0, atol=1e-5)
    torch.testing.assert_close(fused_long.lang_tokens[:, :11], fused_short.lang_tokens, rtol=0, atol=1e-5)
    torch.testing.assert_close(logits_long, logits_short, rtol=0, atol=1e-5)


@pytest.mark.parametrize("ablation", list(ABLATIONS))
def test_what_sits_in_padded_positions_changes_nothing(ablation, tokenize):
    model = build_tiny(SMALL_IMAGE + ABLATIONS[ablation])
    with torch.inference_mode():
        image_feats = model.encode_image(random_image(128))
        word_feats, sentence_feat, text_mask = model.encode_text(tokenize(SENTENCES, 17))
        noise = torch.randn(word_feats.shape, generator=torch.Generator().manual_seed(1)) * 10
        noisy_words = torch.where(text_mask[..., None], word_feats, noise)
        fused, logits = run_stages(model, image_feats, word_feats, sentence_feat, text_mask)
        fused_noisy, logits_noisy = run_stages(model, image_feats, noisy_words, sentence_feat, text_mask)
        noisy_lang = torch.where(text_mask[..., None], fused.lang_tokens, noise[..., :1].expand_as(fused.lang_tokens))
        logits_noisy_lang = model.decode(fused.vis_tokens, noisy_lang, text_mask)
    real = text_mask[..., None]
    torch.testing.assert_close(fused_noisy.vis_tokens, fused.vis_tokens, rtol=0, atol=1e-5)
    torch.testing.assert_close(fused_noisy.lang_tokens * real, fused.lang_tokens * real, rtol=0, atol=1e-5)
    torch.testing.assert_close(logits_noisy, logits, rtol=0, atol=1e-5)
    torch.testing.assert_close(logits_noisy_lang, logits, rtol=0, atol=1e-5)


@pytest.mark.parametrize("ablation", list(ABLATIONS))
def test_fully_padded_row_gives_finite_outputs(ablation, tokenize):
    model = build_tiny(SMALL_IMAGE + ABLATIONS[ablation])
    tokens = tokenize(SENTENCES[:2], 17)
    tokens[1] = 0  # no real token at all
    with torch.inference_mode():
        text = model.encode_text(tokens)
        fused, logits = run_stages(model, model.encode_image(random_image(128)), *text)
    for tensor in (*text[:2], *fused, logits):
        assert torch.isfinite(tensor).all()


FROZEN_TEXT = ["text_encoder.trainable=false"]  # the paper's choice; the tiny preset trains its text tower


def test_only_fusion_and_decoder_train_and_encoders_get_no_grads(tokenize):
    model = build_tiny(SMALL_IMAGE + FROZEN_TEXT).train()
    trainable = {name.split(".")[0] for name, p in model.named_parameters() if p.requires_grad}
    assert trainable == {"fusion", "decoder"}
    assert not model.image_encoder.training and not model.text_encoder.training
    assert model.fusion.training and model.decoder.training
    logits = model(random_image(128, batch=2), tokenize(SENTENCES[:2], 17))
    target = torch.zeros_like(logits)
    target[..., 8:20, 8:20] = 1
    FocalDiceLoss()(logits, target).backward()
    for name, parameter in model.named_parameters():
        if name.startswith(("image_encoder", "text_encoder")):
            assert parameter.grad is None, name
    assert all(p.grad is not None for p in model.decoder.parameters())
    assert sum(p.grad.abs().sum() for p in model.fusion.parameters() if p.grad is not None) > 0


def test_trainable_encoder_switch_unfreezes_it():
    model = build_tiny(SMALL_IMAGE + FROZEN_TEXT + ["image_encoder.trainable=true"])
    assert all(p.requires_grad for p in model.image_encoder.parameters())
    assert not any(p.requires_grad for p in model.text_encoder.parameters())


def test_the_tiny_text_tower_trains_around_its_fixed_token_embedding(tokenize):
    model = build_tiny(SMALL_IMAGE).train()  # the preset: text trainable, token embedding not
    assert model.text_encoder.training and not model.image_encoder.training
    logits = model(random_image(128, batch=2), tokenize(SENTENCES[:2], 17))
    FocalDiceLoss()(logits, torch.zeros_like(logits)).backward()
    tower = model.text_encoder.tower
    assert tower.token_embedding.weight.grad is None and not tower.token_embedding.weight.requires_grad
    assert all(p.grad is not None for p in tower.transformer.parameters())
    assert tower.text_projection.grad is not None
    every = build_tiny(SMALL_IMAGE + ["text_encoder.train_token_embedding=true"])
    assert all(p.requires_grad for p in every.text_encoder.parameters())
