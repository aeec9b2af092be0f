"""The parity benchmark passes an honest bundle and fails a perturbed one, naming the altered graph."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest
from graph_faults import perturbed_bundle, readers
from tiny_models import build_tiny

from haris.benchmarks.bundle_source import source_checkpoint
from haris.benchmarks.parity_checks import TOLERANCES, agreement_summary, judge
from haris.checkpoint import save_checkpoint
from haris.checkpoint.checkpoint_io import read_checkpoint_meta
from haris.cli import main
from haris.cli.bench_commands import add_bench_commands
from haris.data.synthetic.synthetic_writer import write_synthetic_dataset
from haris.errors import HarisError
from haris.file_digest import file_sha256
from haris.runtime.bundle import Bundle

PERTURBED_WEIGHT = "model.decoder.upsampler.first.0.weight"
FUSION_WEIGHT = "model.fusion.blocks.1.sentence_in.weight"  # read by one Gemm, in the second fusion block


@pytest.fixture(scope="module")
def synthetic_data(tmp_path_factory):
    out = tmp_path_factory.mktemp("parity") / "data"
    write_synthetic_dataset(out, num_images=12, image_size=256, seed=0, workers=1, progress=False)
    return out


def perturbed_decoder(bundle: Path, out: Path) -> Path:
    """A copy of `bundle` whose fp32 decoder has one weight doubled."""
    return perturbed_bundle(bundle, out, ("decoder", "fp32"), PERTURBED_WEIGHT, 2.0)


def parity_command(bundle: Path, data: Path, out: Path, *options: str) -> argparse.Namespace:
    """`haris bench parity` on `bundle` (its own checkpoint), one thread, as the CLI parses it."""
    parser = argparse.ArgumentParser()
    add_bench_commands(parser.add_subparsers())
    return parser.parse_args(
        ["bench", "parity", "--bundle", str(bundle), "--data", str(data), "--split", "val", "--threads", "1", "--out", str(out), *options]
    )


def test_an_honest_bundle_passes_and_reports_every_stage(tiny_checkpoint, tiny_bundle, synthetic_data, tmp_path):
    data = ["--data", str(synthetic_data), "--split", "val", "--split-by", "unc", "--images", str(synthetic_data / "images"), "--skip-bad"]
    options = ["--backends", "onnxruntime:fp32,onnxruntime:fp16,tensorrt:fp16", "--worst", "1", "--stage-samples", "1", "--reference-device", "cpu"]
    argv = ["bench", "parity", "--checkpoint", str(tiny_checkpoint), "--bundle", str(tiny_bundle), *data, *options, "--threads", "1"]
    assert main([*argv, "--max-expressions", "20", "--out", str(tmp_path)]) == 0
    report = json.loads((tmp_path / "parity.json").read_text())
    assert report["passed"], report["failures"]
    assert report["settings"]["expressions"] <= 20 and report["settings"]["stage_samples"] == 1
    assert all(len(result["overlays"]) <= 1 for result in report["backends"].values())  # --worst 1
    assert set(report["backends"]) == {"onnxruntime:fp32", "onnxruntime:fp16"}
    assert "tensorrt:fp16" in report["skipped"]  # no GPU here, or no engines in the tiny bundle
    fp32 = report["backends"]["onnxruntime:fp32"]
    assert fp32["mask_agreement"]["mean"] >= 0.999 and abs(fp32["metric_deltas"]["mean_iou"]) <= 0.002
    assert set(fp32["stages"]) == {"image_encoder", "text_encoder", "fusion", "decoder"}
    assert set(fp32["stages"]["text_encoder"]) == {"word_feats", "sentence_feat", "text_mask"}
    assert report["settings"]["expressions"] == report["eager"]["metrics"]["count"] > 0
    assert report["bundle"]["manifest_sha256"] == file_sha256(Path(tiny_bundle) / "manifest.json")
    assert "| onnxruntime:fp16 | pass |" in (tmp_path / "parity.md").read_text()
    assert (tmp_path / "mask_agreement.png").read_bytes().startswith(b"\x89PNG")
    assert len((tmp_path / "parity_expressions.jsonl").read_text().splitlines()) == report["settings"]["expressions"]


def test_a_perturbed_decoder_fails_the_command_which_names_it(tiny_checkpoint, tiny_bundle, synthetic_data, tmp_path):
    out = tmp_path / "report"
    args = parity_command(perturbed_decoder(tiny_bundle, tmp_path / "bundle"), synthetic_data, out, "--backends", "onnxruntime:fp32")
    with pytest.raises(HarisError, match="stage decoder output mask_logits"):
        args.run(args)
    report = json.loads((out / "parity.json").read_text())
    failures = report["backends"]["onnxruntime:fp32"]["failures"]
    assert not report["passed"] and failures
    assert not [line for line in failures if "stage " in line and "stage decoder " not in line]  # the other graphs are untouched
    assert report["backends"]["onnxruntime:fp32"]["overlays"] and (out / report["backends"]["onnxruntime:fp32"]["overlays"][0]).is_file()


def test_localize_names_the_node_of_a_planted_fp16_fault_and_the_command_prints_it(tiny_bundle, synthetic_data, tmp_path, capsys):
    bundle = perturbed_bundle(tiny_bundle, tmp_path / "bundle", ("fusion", "fp16"), FUSION_WEIGHT, 10.0)
    (faulty_node,) = readers(bundle / "fusion.fp16.onnx", FUSION_WEIGHT)
    out = tmp_path / "report"
    argv = ["bench", "parity", "--bundle", str(bundle), "--data", str(synthetic_data), "--threads", "1", "--out", str(out)]
    assert main([*argv, "--backends", "onnxruntime:fp16", "--localize", "--max-expressions", "4", "--worst", "0"]) == 2
    printed = capsys.readouterr()
    assert "haris: error: parity failed:" in printed.err and "stage fusion output" in printed.err
    localization = json.loads((out / "parity.json").read_text())["backends"]["onnxruntime:fp16"]["localization"]
    assert set(localization) == {"fusion"}  # the other stages run on eager's inputs and stay within their bound
    divergent = localization["fusion"]["first_divergent"]
    assert (divergent["node"], divergent["op_type"], divergent["tensor"]) == (faulty_node.name, faulty_node.op_type, faulty_node.output[0])
    assert divergent["relative"] > TOLERANCES["fp16"].stage_relative
    line = f"- onnxruntime:fp16, fusion: first divergent tensor `{faulty_node.output[0]}`, written by `{faulty_node.name}` ({faulty_node.op_type})"
    assert line in printed.out and line in (out / "parity.md").read_text()


def test_a_checkpoint_the_bundle_was_not_exported_from_is_refused_naming_both_hashes(tiny_bundle, tmp_path):
    assert source_checkpoint(tiny_bundle) == Path(Bundle.open(tiny_bundle).manifest.source_checkpoint["path"])
    foreign = save_checkpoint(build_tiny(seed=5), tmp_path / "foreign")
    theirs = read_checkpoint_meta(foreign)["weights_sha256"][:16]
    ours = Bundle.open(tiny_bundle).manifest.source_checkpoint["weights_sha256"][:16]
    with pytest.raises(HarisError, match=f"weights sha256 {theirs}, but bundle .* was exported from weights sha256 {ours}"):
        source_checkpoint(tiny_bundle, foreign)
    moved = perturbed_decoder(tiny_bundle, tmp_path / "moved")
    manifest = json.loads((moved / "manifest.json").read_text())
    manifest["source_checkpoint"]["path"] = str(tmp_path / "gone")
    (moved / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(HarisError, match=f"which is not here; pass --checkpoint with a checkpoint of weights sha256 {ours}"):
        source_checkpoint(moved)


def test_judge_names_each_failed_check():
    result = {
        "mask_agreement": agreement_summary([1.0] * 98 + [0.5, 0.4]),
        "stages": {"fusion": {"vis_tokens": {"max_abs": 0.5, "mean_abs": 0.1, "scale": 1.0, "relative": 0.5}}},
        "metric_deltas": {"mean_iou": -0.03, "overall_iou": 0.0},
    }
    failures = judge("onnxruntime:fp16", result, TOLERANCES["fp16"])
    assert len(failures) == 4  # mean agreement 0.989, its 1st percentile 0.499, one stage, one metric
    assert any("stage fusion output vis_tokens" in line for line in failures) and any("mean_iou" in line for line in failures)
