"""The model on a CUDA GPU: same results as on the CPU, and finite under FP16 autocast."""

from __future__ import annotations

import pytest
import torch
from tiny_models import SENTENCES, build_tiny, random_image

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU; this machine has none"),
]


def test_cuda_forward_matches_cpu(tokenize):
    model = build_tiny()
    tokens, image = tokenize(SENTENCES, 17), random_image(256)
    with torch.inference_mode():
        on_cpu = model(image, tokens)
        on_gpu = model.cuda()(image.cuda(), tokens.cuda()).cpu()
    torch.testing.assert_close(on_gpu, on_cpu, rtol=1e-3, atol=1e-3)


def test_fp16_autocast_forward_is_finite_and_close(tokenize):
    model = build_tiny().cuda()
    tokens = tokenize(SENTENCES, 17).cuda()
    tokens[-1] = 0  # a fully padded row must stay finite in FP16 too
    image = random_image(256).cuda()
    with torch.inference_mode():
        reference = model(image, tokens)
        with torch.autocast("cuda", dtype=torch.float16):
            mixed = model(image, tokens)
    assert torch.isfinite(mixed).all()
    agreement = ((mixed > 0) == (reference > 0)).float().mean()
    assert agreement > 0.99


def test_paper_preset_trains_a_step_under_autocast(tokenize):
    torch.manual_seed(0)
    from haris.config import load_model_config
    from haris.losses import FocalDiceLoss
    from haris.modeling import build_model

    model = build_model(load_model_config("paper")).cuda().train()
    optimizer = torch.optim.Adam(model.trainable_parameters(), lr=1e-4)
    scaler = torch.amp.GradScaler("cuda")
    image = random_image(1024, batch=2).cuda()
    target = torch.zeros(2, 1, 256, 256, device="cuda")
    target[:, :, 64:160, 64:160] = 1
    with torch.autocast("cuda", dtype=torch.float16):
        loss = FocalDiceLoss()(model(image, tokenize(SENTENCES[:2], 17).cuda()).float(), target)
    scaler.scale(loss).backward()
    scaler.step(optimizer)
    scaler.update()
    assert torch.isfinite(loss)
    assert all(p.grad is None for p in model.image_encoder.parameters())
