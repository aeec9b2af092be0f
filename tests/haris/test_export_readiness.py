"""The model's graphs keep the text length and batch dynamic through both ONNX exporters."""

from __future__ import annotations

import numpy as np
import onnxruntime
import pytest
import torch
from tiny_models import SENTENCES, build_tiny, random_image

FUSE_INPUTS = ["image_feats_1", "image_feats_2", "image_feats_3", "word_feats", "sentence_feat", "text_mask"]


class FuseAndDecode(torch.nn.Module):
    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        fused = self.model.fuse(*inputs)
        return self.model.decode(fused.vis_tokens, fused.lang_tokens, inputs[-1])


class EncodeText(torch.nn.Module):
    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, text_tokens: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return tuple(self.model.encode_text(text_tokens))


@pytest.fixture(scope="module")
def small_model():
    return build_tiny(["image_size=64"])


def stage_inputs(model, tokenize, length: int, batch: int) -> tuple[torch.Tensor, ...]:
    with torch.no_grad():  # not inference_mode: the exporter traces these tensors again
        return (*model.encode_image(random_image(64)), *model.encode_text(tokenize(SENTENCES[:batch], length)))


def test_fusion_and_decoder_stay_dynamic_in_the_torchscript_exporter(small_model, tokenize, tmp_path):
    adapter = FuseAndDecode(small_model).eval()
    dynamic = {name: {0: "B", 1: "L"} for name in ("word_feats", "text_mask")}
    dynamic |= {"sentence_feat": {0: "B"}, "mask_logits": {0: "B"}} | {f"image_feats_{i}": {0: "N"} for i in (1, 2, 3)}
    torch.onnx.export(
        adapter, stage_inputs(small_model, tokenize, 17, 2), str(tmp_path / "fuse.onnx"), dynamo=False, opset_version=17,
        input_names=FUSE_INPUTS, output_names=["mask_logits"], dynamic_axes=dynamic,
    )
    session = onnxruntime.InferenceSession(str(tmp_path / "fuse.onnx"), providers=["CPUExecutionProvider"])
    for length, batch in [(17, 2), (5, 4), (1, 1), (11, 3)]:
        inputs = stage_inputs(small_model, tokenize, length, batch)
        (logits,) = session.run(None, {name: tensor.numpy() for name, tensor in zip(FUSE_INPUTS, inputs)})
        with torch.inference_mode():
            expected = adapter(*inputs).numpy()
        np.testing.assert_allclose(logits, expected, rtol=0, atol=1e-4)


def test_text_encoder_stays_dynamic_in_the_dynamo_exporter(small_model, tokenize, tmp_path):
    adapter = EncodeText(small_model).eval()
    dims = {0: torch.export.Dim("B", min=1, max=64), 1: torch.export.Dim("L", min=1, max=17)}
    torch.onnx.export(
        adapter, (tokenize(SENTENCES[:2], 17),), str(tmp_path / "text.onnx"), dynamo=True, verbose=False,
        input_names=["text_tokens"], output_names=["word_feats", "sentence_feat", "text_mask"],
        dynamic_shapes={"text_tokens": dims},
    )
    session = onnxruntime.InferenceSession(str(tmp_path / "text.onnx"), providers=["CPUExecutionProvider"])
    for length, batch in [(17, 2), (4, 3), (1, 1)]:
        tokens = tokenize(SENTENCES[:batch], length)
        outputs = session.run(None, {"text_tokens": tokens.numpy()})
        with torch.inference_mode():
            expected = adapter(tokens)
        for output, reference in zip(outputs, expected):
            np.testing.assert_allclose(output, reference.numpy(), rtol=0, atol=1e-5)
