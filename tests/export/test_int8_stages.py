"""`haris export --int8-stages`: INT8 for some stages only, the others' INT8 graph being their FP32
graph (the same file, not a copy), recorded in the manifest, shown by `haris inspect`, run by the
Predictor, and repeated by the retry command of a refused INT8."""

from __future__ import annotations

import shutil

import pytest
from runtime_samples import demo_scenes

from haris.benchmarks.stage_parity import eager_stage_samples, stage_differences
from haris.cli import main
from haris.errors import ExportError
from haris.export.bundle_export import export_bundle
from haris.export.int8_calibration import Int8Request
from haris.runtime.bundle import Bundle
from haris.runtime.bundle_description import describe_bundle
from haris.runtime.predictor import Predictor

FLOAT_STAGES = ("text_encoder", "fusion", "decoder")


@pytest.fixture(scope="module")
def encoder_int8_bundle(tiny_checkpoint, tmp_path_factory):
    """A fresh FP32 + INT8 export with the default stages: the image encoder alone."""
    out = tmp_path_factory.mktemp("int8_stages") / "bundle"
    assert (
        main(["export", str(tiny_checkpoint), "--out", str(out), "--precision", "fp32,int8", "--calibration-images", "2", "--image-size", "256"]) == 0
    )
    return out


def test_only_the_named_stage_is_quantized_and_the_others_share_their_fp32_graph(encoder_int8_bundle):
    bundle = Bundle.open(encoder_int8_bundle)  # verifies every listed file against its sha256
    manifest = bundle.manifest
    assert manifest.graph("image_encoder", "int8").file == "image_encoder.int8.onnx"
    assert manifest.graph("image_encoder", "int8").sha256 != manifest.graph("image_encoder", "fp32").sha256
    for stage in FLOAT_STAGES:
        assert manifest.graph(stage, "int8") == manifest.graph(stage, "fp32")
        assert manifest.checks["int8"][stage] == manifest.checks["fp32"][stage]
        assert not (encoder_int8_bundle / f"{stage}.int8.onnx").exists()
    assert manifest.int8["stages"] == ["image_encoder"] and manifest.int8["float_stages"] == list(FLOAT_STAGES)
    assert set(manifest.int8["graphs"]) == {"image_encoder"}
    described = describe_bundle(bundle)
    assert "fusion         not quantized (--int8-stages): its INT8 graph is the FP32 one" in described


def test_an_add_that_quantizes_another_stage_shares_the_bundles_fp32_graphs_for_the_rest(encoder_int8_bundle, tiny_checkpoint, tmp_path):
    copy = shutil.copytree(encoder_int8_bundle, tmp_path / "bundle")
    argv = ["export", str(tiny_checkpoint), "--out", str(copy), "--add", "--overwrite", "--precision", "int8", "--calibration-images", "2"]
    assert main([*argv, "--int8-stages", "image_encoder,decoder"]) == 0
    manifest = Bundle.open(copy).manifest
    assert manifest.graph("decoder", "int8").file == "decoder.int8.onnx" and manifest.int8["float_stages"] == ["text_encoder", "fusion"]
    assert manifest.graph("fusion", "int8") == manifest.graph("fusion", "fp32") and (copy / "fusion.fp32.onnx").is_file()


def test_the_predictor_runs_the_mixed_int8_and_only_the_image_encoder_differs_from_fp32(encoder_int8_bundle, tiny_checkpoint):
    """Each stage on eager's own inputs: the stages left float answer exactly as the FP32 graphs do."""
    fp32 = Predictor.from_bundle(encoder_int8_bundle, backend="onnxruntime", precision="fp32", threads=1)
    int8 = Predictor.from_bundle(encoder_int8_bundle, backend="onnxruntime", precision="int8", threads=1)
    scenes = demo_scenes(2)
    samples = eager_stage_samples(Predictor.from_checkpoint(tiny_checkpoint), [pixels for pixels, _ in scenes], [texts for _, texts in scenes])
    against_fp32, against_int8 = stage_differences(fp32.backend, samples), stage_differences(int8.backend, samples)
    for stage in FLOAT_STAGES:
        assert against_int8[stage] == against_fp32[stage], stage
    encoder_fp32, encoder_int8 = against_fp32["image_encoder"]["image_feats_2"], against_int8["image_encoder"]["image_feats_2"]
    assert encoder_int8["relative"] > 10 * encoder_fp32["relative"]  # it is quantized
    pixels, texts = scenes[0]
    predictions = int8.segment(pixels, texts)
    assert [p.expression for p in predictions] == texts and all(p.mask.shape == pixels.shape[:2] for p in predictions)


def test_stages_left_float_need_the_fp32_graphs_and_unknown_stages_are_refused(tiny_checkpoint, tmp_path, capsys):
    float_stages = r"leaves text_encoder, fusion, decoder float by sharing their FP32 graphs: export fp32 too \(--precision fp32,int8\)"
    with pytest.raises(ExportError, match=float_stages):
        export_bundle(tiny_checkpoint, tmp_path / "b", ("int8",), progress=False, int8=Int8Request(stages=("image_encoder",)))
    assert not (tmp_path / "b").exists()
    argv = ["export", str(tiny_checkpoint), "--out", str(tmp_path / "c"), "--precision", "fp32,int8", "--int8-stages", "image_encoder,vision"]
    assert main(argv) == 2
    assert "--int8-stages must name some of image_encoder, text_encoder, fusion, decoder, got image_encoder, vision" in capsys.readouterr().err


def test_the_retry_command_repeats_the_stages():
    assert Int8Request(stages=("image_encoder", "fusion")).cli_options() == ["--int8-stages", "image_encoder,fusion"]
    assert Int8Request().cli_options() == [] and Int8Request().stages == ("image_encoder",)  # the default
