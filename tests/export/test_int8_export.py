"""INT8 bundles: calibrated Q/DQ graphs beside FP32, that the Predictor runs and parity passes, the
quantization choices in the manifest, clear errors for bad calibration input, and engines built
ahead of time from the Q/DQ graphs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import onnx
import pytest
from PIL import Image
from runtime_samples import demo_scenes, mask_iou

from haris.errors import ExportError
from haris.export.bundle_engines import build_bundle_engines
from haris.export.bundle_export import export_bundle
from haris.export.calibration_set import calibration_items
from haris.export.int8_calibration import Int8Request
from haris.runtime.bundle import Bundle
from haris.runtime.predictor import Predictor
from haris.runtime.tensor_contract import GRAPHS, STAGE_INPUTS, STAGES


@pytest.fixture(scope="module")
def int8_bundle(tiny_checkpoint, tmp_path_factory):
    out = tmp_path_factory.mktemp("int8") / "bundle"
    return export_bundle(tiny_checkpoint, out, ("fp32", "int8"), int8=Int8Request(images=8), progress=False)


def test_int8_graphs_are_explicit_qdq_with_the_contract_and_the_choices_recorded(int8_bundle):
    manifest = Bundle.open(int8_bundle).manifest
    assert set(manifest.graphs) == {"fp32", "int8"}
    for name in GRAPHS:
        spec = manifest.graph(name, "int8")
        assert [tensor.name for tensor in spec.inputs] == list(STAGE_INPUTS[name])
        assert all(tensor.dtype in ("float32", "int32", "bool") for tensor in (*spec.inputs, *spec.outputs))
    ops = {node.op_type for node in onnx.load(int8_bundle / "fusion.int8.onnx").graph.node}
    assert {"QuantizeLinear", "DequantizeLinear"} <= ops and "LayerNormalization" in ops
    record = manifest.int8
    assert record["method"] == "static" and record["calibration"] == {"source": "synthetic scenes rendered in memory (seed 1)", "images": 8}
    assert record["kept_float_nodes"]["fusion"]  # the attention logits stay float
    assert manifest.checks["int8"]["decoder"]["mask_logits"]["min_mask_agreement"] >= 0.95


def test_int8_predictions_agree_with_eager_fp32(int8_bundle, tiny_checkpoint):
    eager = Predictor.from_checkpoint(tiny_checkpoint)
    int8 = Predictor.from_bundle(int8_bundle, precision="int8", threads=1)
    ious = [
        mask_iou(a.mask, e.mask)
        for pixels, sentences in demo_scenes(4)
        for a, e in zip(int8.segment(pixels, sentences), eager.segment(pixels, sentences))
    ]
    assert np.mean(ious) >= 0.98 and np.percentile(ious, 1) >= 0.90, ious


def test_calibration_from_a_folder_of_images_and_its_errors(tmp_path):
    (tmp_path / "photos").mkdir()
    for index in range(3):
        Image.fromarray(np.full((40, 60, 3), 50 * index, np.uint8)).save(tmp_path / "photos" / f"p{index}.png")
    items = calibration_items(tmp_path / "photos", 3, 64)
    assert len(items) == 3 and all(item.expressions and item.pixels.shape == (40, 60, 3) for item in items)
    with pytest.raises(ExportError, match="holds 3 images .*fewer than the 5 asked"):
        calibration_items(tmp_path / "photos", 5, 64)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ExportError, match="holds 0 images"):
        calibration_items(tmp_path / "empty", 2, 64)
    with pytest.raises(ExportError, match="calibration folder not found"):
        calibration_items(tmp_path / "nowhere", 2, 64)
    (tmp_path / "photos" / "p0.png").write_bytes(b"not a png")
    with pytest.raises(ExportError, match="calibration image unreadable: .*p0.png"):
        calibration_items(tmp_path / "photos", 3, 64)
    with pytest.raises(ExportError, match="at least 2 images"):
        calibration_items(None, 1, 64)


def test_calibration_from_a_refer_dataset_uses_its_sentences(tmp_path):
    from haris.data.synthetic import write_synthetic_dataset

    write_synthetic_dataset(tmp_path / "data", num_images=12, image_size=64, seed=2, progress=False)
    items = calibration_items(tmp_path / "data", 4, 64)
    refs = json.loads(json.dumps([item.expressions for item in items]))
    assert len(items) == 4 and all(refs) and all(isinstance(text, str) for texts in refs for text in texts)


@pytest.mark.trt
def test_tensorrt_rtx_builds_engines_from_the_int8_graphs_ahead_of_time(int8_bundle, tmp_path):
    pytest.importorskip("tensorrt_rtx", reason="tensorrt_rtx is not installed (`pip install tensorrt-rtx`)")
    bundle_dir = Path(shutil.copytree(int8_bundle, tmp_path / "bundle"))
    build_bundle_engines(bundle_dir, "int8", flavor="tensorrt_rtx", progress=False)
    engines = Bundle.open(bundle_dir).manifest.engines["int8"]
    assert set(engines) == set(STAGES) and all((bundle_dir / spec.file).stat().st_size > 0 for spec in engines.values())
