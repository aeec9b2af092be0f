"""The end-to-end graph is the four stage graphs joined at the contract's names: it computes exactly
what running the stages one after another computes, and it needs all four."""

from __future__ import annotations

import numpy as np
import onnx
import pytest

from haris.checkpoint import load_checkpoint
from haris.errors import ExportError
from haris.export.check_samples import demo_inputs
from haris.export.end_to_end_graph import compose_end_to_end
from haris.runtime.onnxruntime_session import create_session
from haris.runtime.tensor_contract import STAGE_INPUTS, STAGES


def _run(path, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    session = create_session(str(path))
    names = [output.name for output in session.get_outputs()]
    return dict(zip(names, session.run(None, {tensor.name: feeds[tensor.name] for tensor in session.get_inputs()})))


def test_the_composed_graph_computes_the_chained_stages(tiny_bundle, tiny_checkpoint, tmp_path):
    graphs = {stage: onnx.load(str(tiny_bundle / f"{stage}.fp32.onnx")) for stage in STAGES}
    composed = compose_end_to_end(graphs)
    assert [value.name for value in composed.graph.input] == ["image", "text_tokens"]
    assert [value.name for value in composed.graph.output] == ["mask_logits"]
    assert len(composed.graph.node) == sum(len(graph.graph.node) for graph in graphs.values())
    path = tmp_path / "haris.onnx"
    onnx.save_model(composed, str(path))

    image, tokens = demo_inputs(load_checkpoint(tiny_checkpoint), 3)
    feeds = {"image": image.numpy(), "text_tokens": tokens.numpy()}
    for stage in STAGES:  # image and text features, then fusion, then the decoder
        feeds |= _run(tiny_bundle / f"{stage}.fp32.onnx", {name: feeds[name] for name in STAGE_INPUTS[stage]})
    (composed_logits,) = _run(path, feeds).values()
    np.testing.assert_allclose(composed_logits, feeds["mask_logits"], rtol=0, atol=1e-5)
    assert 0.05 < (composed_logits > 0).mean() < 0.95  # not a trivial mask


def test_a_missing_stage_is_named(tiny_bundle):
    graphs = {stage: onnx.load(str(tiny_bundle / f"{stage}.fp32.onnx")) for stage in STAGES if stage != "fusion"}
    with pytest.raises(ExportError, match="missing fusion"):
        compose_end_to_end(graphs)
