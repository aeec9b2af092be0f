"""`haris export` on the tiny checkpoint: the bundle, its graphs' dynamic axes, FP16 islands, refusals."""

from __future__ import annotations

import json
import shutil

import numpy as np
import onnx
import pytest
import torch

from haris.checkpoint import load_checkpoint
from haris.cli import main
from haris.errors import BundleError, CheckpointError, ExportError
from haris.export import bundle_export
from haris.export.bundle_extension import add_precisions
from haris.export.check_samples import demo_inputs, random_tokens
from haris.export.fp16_conversion import attention_logit_nodes, float32_island_violations
from haris.export.graph_check import check_graph, eager_outputs
from haris.export.model_resizing import model_at_image_size
from haris.export.stage_adapter import StageAdapter
from haris.file_digest import file_sha256
from haris.runtime.bundle import Bundle
from haris.runtime.onnxruntime_session import create_session
from haris.runtime.tensor_contract import GRAPHS, STAGE_INPUTS


@pytest.fixture(scope="module")
def model(tiny_checkpoint):
    return load_checkpoint(tiny_checkpoint)


def run_graph(bundle_dir, name, precision, **inputs):
    session = create_session(str(bundle_dir / f"{name}.{precision}.onnx"))
    return session.run(None, {key: value.numpy() for key, value in inputs.items()})


def test_the_bundle_lists_every_graph_with_contract_names(tiny_bundle):
    bundle = Bundle.open(tiny_bundle)
    manifest = bundle.manifest
    assert set(manifest.graphs) == {"fp32", "fp16"} and all(set(graphs) == set(GRAPHS) for graphs in manifest.graphs.values())
    for name in GRAPHS:
        spec = manifest.graph(name, "fp16")
        assert [tensor.name for tensor in spec.inputs] == list(STAGE_INPUTS[name])
        assert all(tensor.dtype in ("float32", "int32", "bool") for tensor in (*spec.inputs, *spec.outputs))
        assert onnx.load(str(bundle.graph_path(name, "fp32"))).opset_import[0].version >= 17
    assert manifest.tokenizer["sha256"] and manifest.source_checkpoint["weights_sha256"]
    assert manifest.dynamic_axes["L"] == (1, manifest.max_words)


def test_text_encoder_graph_matches_eager_at_every_length(tiny_bundle, model):
    generator = torch.Generator().manual_seed(1)
    for length in range(1, model.config.max_words + 1):
        tokens = random_tokens(3, length, generator)
        outputs = run_graph(tiny_bundle, "text_encoder", "fp32", text_tokens=tokens)
        with torch.inference_mode():
            expected = model.encode_text(tokens)
        for got, want in zip(outputs, expected):
            np.testing.assert_allclose(got, want.numpy(), rtol=0, atol=1e-5)


def test_fusion_graph_broadcasts_one_image_like_repeated_images(tiny_bundle, model):
    image, tokens = demo_inputs(model, 3)
    with torch.inference_mode():
        feats, text = model.encode_image(image), model.encode_text(tokens)
    repeated = {name: value.expand(3, -1, -1, -1).contiguous() for name, value in feats._asdict().items()}
    once = run_graph(tiny_bundle, "fusion", "fp32", **feats._asdict(), **text._asdict())
    paired = run_graph(tiny_bundle, "fusion", "fp32", **repeated, **text._asdict())
    for broadcast, per_expression in zip(once, paired):
        np.testing.assert_allclose(broadcast, per_expression, rtol=0, atol=1e-6)


def test_fp16_graphs_keep_their_fp32_islands(tiny_bundle):
    for name in GRAPHS:
        graph = onnx.load(str(tiny_bundle / f"{name}.fp16.onnx"))
        assert float32_island_violations(graph) == []
        initializers = {init.data_type for init in graph.graph.initializer}
        assert onnx.TensorProto.FLOAT16 in initializers, f"{name}.fp16 holds no FP16 weights"
    fp32 = onnx.load(str(tiny_bundle / "image_encoder.fp32.onnx"))
    kinds = {node.op_type for node in fp32.graph.node if node.name in attention_logit_nodes(fp32)}
    assert {"MatMul", "Einsum"} <= kinds  # q @ k^T and SAM's relative-position terms stay FP32


def test_fp16_end_to_end_graph_gives_the_eager_masks(tiny_bundle, model):
    image, tokens = demo_inputs(model, 4)
    (logits,) = run_graph(tiny_bundle, "haris", "fp16", image=image, text_tokens=tokens)
    with torch.inference_mode():
        expected = model(image, tokens).numpy()
    assert 0.05 < (expected > 0).mean() < 0.95  # the tiny model's masks are not trivial
    for got, want in zip(logits > 0, expected > 0):
        assert (got & want).sum() / (got | want).sum() >= 0.99


def test_a_graph_that_disagrees_is_refused_naming_the_output(model, tiny_bundle):
    adapter = StageAdapter(model, "decoder")
    image, tokens = demo_inputs(model, 2)
    with torch.no_grad():
        text = model.encode_text(tokens)
        fused = model.fuse(*model.encode_image(image), *text)
    from haris.export.check_samples import CheckSample

    sample = CheckSample("demo", {**fused._asdict(), "text_mask": text.text_mask}, True)
    expected = [tuple(output * 1.5 for output in outputs) for outputs in eager_outputs(adapter, [sample])]
    graph = onnx.load(str(tiny_bundle / "decoder.fp32.onnx"))
    with pytest.raises(ExportError, match="output mask_logits differs from eager by"):
        check_graph(graph, "decoder", "fp32", [sample], expected)


@pytest.mark.parametrize("damage", ["alter", "remove"])
def test_a_damaged_bundle_is_refused(tiny_bundle, tmp_path, damage):
    copy = shutil.copytree(tiny_bundle, tmp_path / "bundle")
    target = copy / "fusion.fp16.onnx"
    if damage == "alter":
        data = bytearray(target.read_bytes())
        data[len(data) // 2] ^= 0xFF
        target.write_bytes(bytes(data))
    else:
        target.unlink()
    with pytest.raises(BundleError, match="fusion.fp16.onnx"):
        Bundle.open(copy)


def test_export_refuses_an_existing_output_and_leaves_nothing_when_it_fails(tiny_checkpoint, tmp_path, monkeypatch):
    existing = tmp_path / "existing"
    existing.mkdir()
    with pytest.raises(ExportError, match="--overwrite"):
        bundle_export.export_bundle(tiny_checkpoint, existing)

    def failing_export(*args, **kwargs):
        raise ExportError("exporting image_encoder failed: simulated")

    monkeypatch.setattr(bundle_export, "export_stage_graph", failing_export)
    with pytest.raises(ExportError, match="simulated"):
        bundle_export.export_bundle(tiny_checkpoint, tmp_path / "new", progress=False)
    assert not any(tmp_path.glob("new*"))


def test_adding_to_a_bundle_refuses_what_it_cannot_make(tiny_checkpoint, tiny_bundle, tmp_path, capsys):
    copy = shutil.copytree(tiny_bundle, tmp_path / "bundle")
    with pytest.raises(ExportError, match="from the bundle's FP32 graphs: ask for fp16 or int8"):
        add_precisions(tiny_checkpoint, copy, ("fp32", "int8"))
    assert main(["export", str(tiny_checkpoint), "--out", str(copy), "--precision", "int8", "--add", "--image-size", "128"]) == 2
    assert "was exported at image size 256; --image-size 128 cannot be added to it" in capsys.readouterr().err
    assert main(["export", str(tiny_checkpoint), "--out", str(copy), "--precision", "fp16", "--add"]) == 2
    assert "has fp16 graphs already; pass --overwrite" in capsys.readouterr().err
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["source_checkpoint"]["weights_sha256"] = "0" * 64
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ExportError, match="exported from other weights"):
        add_precisions(tiny_checkpoint, copy, ("int8",))
    with pytest.raises(BundleError, match="not a HARIS bundle"):
        add_precisions(tiny_checkpoint, tmp_path / "nowhere", ("int8",))


def test_replacing_a_precision_keeps_the_others_and_drops_only_its_engines(tiny_checkpoint, tiny_bundle, tmp_path):
    copy = shutil.copytree(tiny_bundle, tmp_path / "bundle")
    manifest = json.loads((copy / "manifest.json").read_text())
    (copy / "engines").mkdir()
    for precision in ("fp32", "fp16"):  # stand-ins for `haris build`'s plans: only their listing matters here
        plan, sidecar = f"engines/decoder.{precision}.plan", f"engines/decoder.{precision}.json"
        (copy / plan).write_bytes(precision.encode())
        (copy / sidecar).write_text("{}")
        manifest["engines"][precision] = {"decoder": {"file": plan, "sha256": file_sha256(copy / plan), "sidecar": sidecar}}
    (copy / "manifest.json").write_text(json.dumps(manifest))
    before = Bundle.open(copy).manifest
    add_precisions(tiny_checkpoint, copy, ("fp16",), overwrite=True, progress=False)
    after = Bundle.open(copy).manifest  # every listed file present and unaltered
    assert after.graphs["fp32"] == before.graphs["fp32"] and set(after.graphs["fp16"]) == set(GRAPHS)
    assert set(after.engines) == {"fp32"} and (copy / "engines/decoder.fp32.plan").is_file()
    assert not (copy / "engines/decoder.fp16.plan").exists()


def test_a_checkpoint_whose_weights_do_not_fit_its_config_is_refused(tiny_checkpoint, tmp_path, capsys):
    copy = shutil.copytree(tiny_checkpoint, tmp_path / "checkpoint")
    config = (copy / "config.yaml").read_text().replace("dim: 64", "dim: 32")
    (copy / "config.yaml").write_text(config)
    with pytest.raises(CheckpointError):
        load_checkpoint(copy)
    assert main(["export", str(copy), "--out", str(tmp_path / "bundle")]) == 2
    assert capsys.readouterr().err.startswith("haris: error:")


def test_inspect_prints_the_manifest(tiny_bundle, capsys):
    assert main(["inspect", str(tiny_bundle)]) == 0
    text = capsys.readouterr().out
    assert all(f"{name}.fp16.onnx" in text for name in GRAPHS) and "TensorRT compatibility: ok" in text
    manifest = json.loads((tiny_bundle / "manifest.json").read_text())
    assert manifest["checks"]["fp16"]["haris"]["mask_logits"]["min_mask_iou"] >= 0.99
    check = manifest["checks"]["fp16"]["decoder"]["mask_logits"]  # what the export measured of the demo scene's masks
    shown = f"(tol 0.02; masks agree on {100 * check['min_mask_agreement']:.2f}% of pixels, IoU {check['min_mask_iou']:.3f})"
    assert shown in text
    # Nothing refused: no `refused` key, so the haris from before the field reads this bundle too.
    assert "refused" not in manifest and Bundle.open(tiny_bundle).manifest.refused == {} and "refused" not in text


def test_a_model_moved_to_another_input_size_runs_there(model):
    resized = model_at_image_size(model, 128)
    image = torch.randn(1, 3, 128, 128)
    tokens = random_tokens(2, 5, torch.Generator().manual_seed(0))
    with torch.inference_mode():
        assert resized(image, tokens).shape == (2, 1, 32, 32)
    with pytest.raises(ExportError, match="multiple of 16"):
        model_at_image_size(model, 100)
