"""The parity benchmark passes an honest bundle and fails a perturbed one, naming the altered graph."""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import numpy_helper
from tiny_models import build_tiny

from haris.bench_commands import add_bench_commands
from haris.benchmarks.bundle_source import source_checkpoint
from haris.benchmarks.parity_bench import run_parity
from haris.benchmarks.parity_checks import TOLERANCES, agreement_summary, judge
from haris.checkpoint import save_checkpoint
from haris.checkpoint.checkpoint_io import read_checkpoint_meta
from haris.data.dataset_source import DatasetSource
from haris.data.synthetic.synthetic_writer import write_synthetic_dataset
from haris.errors import HarisError
from haris.file_digest import file_sha256
from haris.runtime.bundle import Bundle

PERTURBED_WEIGHT = "model.decoder.upsampler.first.0.weight"


@pytest.fixture(scope="module")
def synthetic_data(tmp_path_factory):
    out = tmp_path_factory.mktemp("parity") / "data"
    write_synthetic_dataset(out, num_images=12, image_size=256, seed=0, workers=1, progress=False)
    return out


def perturbed_bundle(bundle: Path, out: Path) -> Path:
    """A copy of `bundle` whose fp32 decoder has one weight doubled, its manifest hash rewritten so
    the bundle still opens: only the numbers can tell."""
    copy = Path(shutil.copytree(bundle, out))
    graph_path = copy / "decoder.fp32.onnx"
    model = onnx.load(graph_path)
    (weight,) = [tensor for tensor in model.graph.initializer if tensor.name == PERTURBED_WEIGHT]
    weight.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(weight) * np.float32(2.0), weight.name))
    onnx.save(model, graph_path)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["graphs"]["fp32"]["decoder"]["sha256"] = file_sha256(graph_path)
    (copy / "manifest.json").write_text(json.dumps(manifest))
    return copy


def test_an_honest_bundle_passes_and_reports_every_stage(tiny_checkpoint, tiny_bundle, synthetic_data, tmp_path):
    report = run_parity(
        tiny_checkpoint, tiny_bundle, DatasetSource(synthetic_data, "val"), "onnxruntime:fp32,onnxruntime:fp16,tensorrt:fp16", out=tmp_path, threads=1
    )
    assert report["passed"], report["failures"]
    assert set(report["backends"]) == {"onnxruntime:fp32", "onnxruntime:fp16"}
    assert "tensorrt:fp16" in report["skipped"]  # no GPU here, or no engines in the tiny bundle
    fp32 = report["backends"]["onnxruntime:fp32"]
    assert fp32["mask_agreement"]["mean"] >= 0.999 and abs(fp32["metric_deltas"]["mean_iou"]) <= 0.002
    assert set(fp32["stages"]) == {"image_encoder", "text_encoder", "fusion", "decoder"}
    assert set(fp32["stages"]["text_encoder"]) == {"word_feats", "sentence_feat", "text_mask"}
    assert report["settings"]["expressions"] == report["eager"]["metrics"]["count"] > 0
    saved = json.loads((tmp_path / "parity.json").read_text())
    assert saved["bundle"]["manifest_sha256"] == file_sha256(Path(tiny_bundle) / "manifest.json")
    assert "| onnxruntime:fp16 | pass |" in (tmp_path / "parity.md").read_text()
    assert (tmp_path / "mask_agreement.png").read_bytes().startswith(b"\x89PNG")
    assert len((tmp_path / "parity_expressions.jsonl").read_text().splitlines()) == report["settings"]["expressions"]


def test_a_perturbed_decoder_fails_the_command_which_names_it(tiny_checkpoint, tiny_bundle, synthetic_data, tmp_path):
    bundle = perturbed_bundle(tiny_bundle, tmp_path / "bundle")
    parser = argparse.ArgumentParser()
    add_bench_commands(parser.add_subparsers())
    out = tmp_path / "report"
    args = parser.parse_args(
        [
            "bench",
            "parity",
            "--bundle",
            str(bundle),
            "--data",
            str(synthetic_data),  # its own checkpoint
            "--split",
            "val",
            "--backends",
            "onnxruntime:fp32",
            "--threads",
            "1",
            "--out",
            str(out),
        ]
    )
    with pytest.raises(HarisError, match="stage decoder output mask_logits"):
        args.run(args)
    report = json.loads((out / "parity.json").read_text())
    failures = report["backends"]["onnxruntime:fp32"]["failures"]
    assert not report["passed"] and failures
    assert not [line for line in failures if "stage " in line and "stage decoder " not in line]  # the other graphs are untouched
    assert report["backends"]["onnxruntime:fp32"]["overlays"] and (out / report["backends"]["onnxruntime:fp32"]["overlays"][0]).is_file()


def test_a_checkpoint_the_bundle_was_not_exported_from_is_refused_naming_both_hashes(tiny_bundle, tmp_path):
    assert source_checkpoint(tiny_bundle) == Path(Bundle.open(tiny_bundle).manifest.source_checkpoint["path"])
    foreign = save_checkpoint(build_tiny(seed=5), tmp_path / "foreign")
    theirs = read_checkpoint_meta(foreign)["weights_sha256"][:16]
    ours = Bundle.open(tiny_bundle).manifest.source_checkpoint["weights_sha256"][:16]
    with pytest.raises(HarisError, match=f"weights sha256 {theirs}, but bundle .* was exported from weights sha256 {ours}"):
        source_checkpoint(tiny_bundle, foreign)
    moved = perturbed_bundle(tiny_bundle, tmp_path / "moved")
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
