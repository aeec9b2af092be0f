"""Shapes and dtypes of every stage for every ablation; batching and broadcasting semantics."""

from __future__ import annotations

import pytest
import torch
from tiny_models import ABLATIONS, SENTENCES, build_tiny, random_image

SMALL_IMAGE = ["image_size=64"]  # a 4x4 feature grid keeps the sweep over L and B fast


@pytest.mark.parametrize("ablation", list(ABLATIONS))
def test_stage_shapes_for_every_length_and_batch(ablation, tokenize):
    model = build_tiny(SMALL_IMAGE + ABLATIONS[ablation])
    config, grid = model.config, 64 // 16
    with torch.inference_mode():
        image_feats = model.encode_image(random_image(64))
        assert [tuple(f.shape) for f in image_feats] == [(1, 32, grid, grid)] * 3
        for length in range(1, config.max_words + 1):
            for batch in range(1, 5):
                text = model.encode_text(tokenize((SENTENCES * 2)[:batch], length))
                assert tuple(text.word_feats.shape) == (batch, length, 32)
                assert tuple(text.sentence_feat.shape) == (batch, 32)
                assert text.text_mask.dtype == torch.bool and tuple(text.text_mask.shape) == (batch, length)
                fused = model.fuse(*image_feats, *text)
                assert tuple(fused.vis_tokens.shape) == (batch, config.fusion.dim, grid, grid)
                assert tuple(fused.lang_tokens.shape) == (batch, length, config.fusion.dim)
                logits = model.decode(fused.vis_tokens, fused.lang_tokens, text.text_mask)
                assert logits.dtype == torch.float32 and tuple(logits.shape) == (batch, 1, 4 * grid, 4 * grid)
                assert torch.isfinite(logits).all()


def test_forward_composes_the_stages_at_the_preset_size(tiny_model, tokenize):
    tokens = tokenize(SENTENCES[:2], 17)
    image = random_image(256)
    with torch.inference_mode():
        logits = tiny_model(image, tokens)
        image_feats = tiny_model.encode_image(image)
        text = tiny_model.encode_text(tokens)
        fused = tiny_model.fuse(*image_feats, *text)
        staged = tiny_model.decode(fused.vis_tokens, fused.lang_tokens, text.text_mask)
    assert tuple(logits.shape) == (2, 1, 64, 64)
    assert torch.equal(logits, staged)


def test_one_image_broadcasts_like_repeated_images(tiny_model, tokenize):
    tokens = tokenize(SENTENCES, 17)
    image = random_image(256)
    with torch.inference_mode():
        broadcast = tiny_model(image, tokens)
        repeated = tiny_model(image.expand(4, -1, -1, -1), tokens)
    torch.testing.assert_close(broadcast, repeated, rtol=0, atol=1e-5)


def test_an_expression_does_not_depend_on_its_batch(tiny_model, tokenize):
    tokens = tokenize(SENTENCES, 17)
    image = random_image(256)
    with torch.inference_mode():
        batched = tiny_model(image, tokens)
        single = torch.cat([tiny_model(image, tokens[i : i + 1]) for i in range(len(SENTENCES))])
    torch.testing.assert_close(batched, single, rtol=0, atol=1e-5)


def test_wrong_input_shapes_are_refused(tiny_model):
    with pytest.raises(ValueError, match=r"image must be \(N, 3, 256, 256\)"):
        tiny_model.encode_image(torch.zeros(1, 3, 128, 128))
    with pytest.raises(ValueError, match="1 <= L <= 17"):
        tiny_model.encode_text(torch.zeros(1, 18, dtype=torch.int32))


def test_ablations_change_the_architecture():
    def parameter_names(overrides):
        return {name for name, _ in build_tiny(overrides).named_parameters()}

    full = parameter_names([])
    assert not any("feedback_mlp" in n for n in parameter_names(["fusion.feedback=false"]))
    assert any("feedback_mlp" in n for n in full)
    assert not any("query_token" in n for n in parameter_names(["decoder.kind=multiply"]))
    assert any(".attention." in n for n in parameter_names(["fusion.block=cross_attention"]))


def test_a_merge_over_a_shared_image_equals_the_merge_over_the_concat():
    from haris.modeling.conv_bn_act import ConvBnAct

    torch.manual_seed(0)
    merge = ConvBnAct(8, 6).eval()
    merge[1].running_mean.uniform_(-0.5, 0.5)
    per_row, shared = torch.randn(4, 5, 7, 7), torch.randn(2, 3, 7, 7)
    rows = torch.tensor([0, 1, 1, 0])
    with torch.no_grad():
        expected = merge(torch.cat([per_row, shared[rows]], dim=1))
        torch.testing.assert_close(merge.forward_concat(per_row, shared, rows), expected, rtol=0, atol=1e-5)


def _hla_as_written(block, vis_tokens, lang_tokens, sentence_feat, text_mask):
    """Eq. 1-3 as the paper writes them: the feedback signal is added to the visual input, which is
    projected again; no rewrite."""
    lang_embed = block.lang_in(lang_tokens)
    vis_embed = block.vis_in(vis_tokens)
    logits = vis_embed @ lang_embed.transpose(1, 2) * block.scale
    vision_aware_lang = block._vision_weighted(logits, vis_embed, lang_embed) * text_mask[..., None]
    lang_aware_vis = block._language_weighted(logits, vis_embed, lang_embed, text_mask)
    signal = block.feedback_mlp(block._modulate(lang_aware_vis, block.sentence_in(sentence_feat)))
    vis_embed = block.vis_in(vis_tokens + signal)
    logits = vis_embed @ lang_embed.transpose(1, 2) * block.scale
    return block._language_weighted(logits, vis_embed, lang_embed, text_mask), vision_aware_lang


def test_human_like_attention_equals_the_paper_formula_with_its_gather_and_gradients():
    from haris.modeling.human_like_attention import HumanLikeAttention

    torch.manual_seed(0)
    block = HumanLikeAttention(vis_dim=12, lang_dim=10, sentence_dim=9, dim=8, feedback_mlp_ratio=2.0).double()
    images, rows = torch.randn(2, 6, 12, dtype=torch.float64), torch.tensor([1, 0, 1])
    lang, sentence = torch.randn(3, 4, 10, dtype=torch.float64), torch.randn(3, 9, dtype=torch.float64)
    mask = torch.tensor([[True] * 4, [True, True, False, False], [True] * 3 + [False]])
    rewritten = block(images, lang, sentence, mask, rows)
    written = _hla_as_written(block, images[rows], lang, sentence, mask)
    for got, expected in zip(rewritten, written, strict=True):
        torch.testing.assert_close(got, expected, rtol=0, atol=1e-12)
    (gradients_rewritten,) = torch.autograd.grad(sum(t.sum() for t in rewritten), [block.vis_in.weight])
    (gradients_written,) = torch.autograd.grad(sum(t.sum() for t in written), [block.vis_in.weight])
    torch.testing.assert_close(gradients_rewritten, gradients_written, rtol=0, atol=1e-10)
