"""Benchmark reports: JSON that parses with its fields, Markdown tables, PNG plots, a merged page."""

from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

from haris.benchmarks.bench_report import merge_reports, parity_markdown, read_reports, write_parity_report, write_speed_report
from haris.benchmarks.machine_info import describe_machine
from haris.benchmarks.parity_checks import TOLERANCES, agreement_summary, tolerances_table
from haris.cli.bench_commands import add_bench_commands
from haris.errors import HarisError
from haris.runtime.stage_clock import PIPELINE_STAGES as STAGE_NAMES

BUNDLE = {"path": "bundles/tiny", "manifest_sha256": "ab" * 32}
METRICS = {"count": 3, "mean_iou": 0.5, "overall_iou": 0.4, "precision": {f"Pr@{t}": 0.3 for t in (50, 60, 70, 80, 90)}}


def parity_report() -> dict:
    difference = {"max_abs": 1e-6, "mean_abs": 1e-7, "scale": 2.0, "relative": 5e-7}
    backend = {
        "precision": "fp32",
        "device": "cpu",
        "metrics": METRICS,
        "metric_deltas": {"mean_iou": 0.0, "overall_iou": 0.0, **dict.fromkeys(METRICS["precision"], 0.0)},
        "mask_agreement": agreement_summary([1.0, 0.9995, 1.0]),
        "stages": {"decoder": {"mask_logits": difference}},
        "failures": [],
        "passed": True,
        "overlays": ["overlays/onnxruntime_fp32_worst00_ref1.png"],
    }
    return {
        "kind": "parity",
        "machine": describe_machine(1),
        "bundle": BUNDLE,
        "checkpoint": "runs/tiny",
        "reference": "torch:fp32@cpu",
        "settings": {"data": "data", "split": "val", "refs": 2, "expressions": 3, "stage_samples": 1},
        "tolerances": tolerances_table(TOLERANCES),
        "eager": {"metrics": METRICS},
        "backends": {"onnxruntime:fp32": backend},
        "skipped": {"tensorrt:fp16": "no CUDA GPU cuda:0 on this machine"},
        "failures": [],
        "passed": True,
    }


def speed_report() -> dict:
    stats = {"p50": 0.010, "p90": 0.012, "p99": 0.015}
    runs = [
        {
            "batch": batch,
            "expressions_per_image": 4,
            "stages": dict.fromkeys(STAGE_NAMES, stats),
            "end_to_end": stats,
            "images_per_s": 100.0 * batch,
            "expressions_per_s": 400.0 * batch,
            "encoder_flops_per_s": 4e9,
            "encoder_roof": "onnxruntime:fp32",
            "encoder_roof_flops_per_s": 4e10,
            "encoder_roof_fraction": 0.1,
        }
        for batch in (1, 2)
    ]
    backend = {
        "precision": "fp32",
        "device": "cpu",
        "timing": "host clock",
        "runs": runs,
        "memory": {"rss_before_open_mib": 40.0, "peak_rss_mib": 150.0, "device_mib": None},
    }
    return {
        "kind": "speed",
        "machine": describe_machine(2),
        "bundle": BUNDLE,
        "checkpoint": "runs/tiny",
        "settings": {
            "batches": [1, 2],
            "expressions_per_image": [4],
            "threads": 2,
            "iterations": 3,
            "warmup": 1,
            "image_shape": [480, 640],
            "image_size": 256,
            "stages": list(STAGE_NAMES),
        },
        "compute": {
            "encoder_flops_per_image": 4e7,
            "matmul_size": 2048,
            "gpu_matmul_size": None,
            "matmul_peaks": {"onnxruntime:fp32": 4e10, "torch:fp32": 2e10},
        },
        "backends": {"onnxruntime:fp32": backend},
        "skipped": {},
    }


def test_reports_parse_and_carry_their_fields(tmp_path):
    parity_paths = write_parity_report(parity_report(), tmp_path)
    speed_paths = write_speed_report(speed_report(), tmp_path)
    assert {path.name for path in parity_paths + speed_paths} == {
        "parity.json",
        "parity.md",
        "mask_agreement.png",
        "speed.json",
        "speed.md",
        "stage_latency.png",
        "throughput.png",
    }
    parity, speed = read_reports(tmp_path)
    assert parity["machine"]["cpu_model"] and parity["machine"]["libraries"]["numpy"] and parity["machine"]["date"]
    assert parity["bundle"]["manifest_sha256"] == "ab" * 32 and parity["backends"]["onnxruntime:fp32"]["mask_agreement"]["min"] == 0.9995
    assert speed["backends"]["onnxruntime:fp32"]["runs"][1]["images_per_s"] == 200.0
    parity_page = (tmp_path / "parity.md").read_text()
    assert "| onnxruntime:fp32 | pass | 0.99983 | 0.9995 |" in parity_page and "- tensorrt:fp16: no CUDA GPU" in parity_page
    speed_page = (tmp_path / "speed.md").read_text()
    assert (
        "| onnxruntime:fp32 | 2 | 4 | 10.00 | 10.00 | 10.00 | 10.00 | 10.00 | 10.00 | 10.00 / 12.00 / 15.00 | 200.00 | 800.00 | 4.0 | 10.0% |"
        in speed_page
    )
    assert "- onnxruntime:fp32: onnxruntime:fp32 (40 GFLOP/s)" in speed_page
    assert "| onnxruntime:fp32 | host clock | 150 | 40 | - |" in speed_page
    assert all(path.read_bytes().startswith(b"\x89PNG") for path in tmp_path.glob("*.png"))


def test_the_report_command_merges_runs_with_relative_links(tmp_path):
    write_parity_report(parity_report(), tmp_path / "runs" / "parity")
    write_speed_report(speed_report(), tmp_path / "runs" / "speed")
    parser = argparse.ArgumentParser()
    add_bench_commands(parser.add_subparsers())
    out = tmp_path / "pages" / "benchmarks.md"
    args = parser.parse_args(["bench", "report", str(tmp_path / "runs" / "parity"), str(tmp_path / "runs" / "speed"), "--out", str(out)])
    args.run(args)
    page = out.read_text()
    assert page.startswith("# HARIS benchmarks") and "## Parity against eager FP32" in page and "## Speed: S=256" in page
    assert "![mask agreement](../runs/parity/mask_agreement.png)" in page and "![throughput](../runs/speed/throughput.png)" in page


def test_each_localized_stage_is_listed_with_its_first_divergent_tensor_or_why_not():
    report = parity_report()
    report["backends"]["onnxruntime:fp32"]["localization"] = {"decoder": {"skipped": "the FP32 graph is the reference"}}
    graphs = {"reference": "fusion.fp32.onnx", "graph": "fusion.fp16.onnx", "bound": 0.03, "shared_tensors": 179, "tensors": 269}
    overflow = {
        "tensor": "layer_norm_2",
        "node": "node_layer_norm_2",
        "op_type": "LayerNormalization",
        "node_under_test": "node_layer_norm_2_output_cast0",  # FP16 casts the FP32 island's output back
        "op_type_under_test": "Cast",
        "max_abs": float("inf"),
        "scale": 7e4,
        "relative": float("inf"),
        "sample": 1,
    }
    localization = {"fusion": {**graphs, "first_divergent": overflow}, "text_encoder": {**graphs, "first_divergent": None}}
    report["backends"]["onnxruntime:fp16"] = {**report["backends"]["onnxruntime:fp32"], "precision": "fp16", "localization": localization}
    page = parity_markdown(report)
    assert "- onnxruntime:fp32, decoder: not localized: the FP32 graph is the reference" in page
    assert (
        "- onnxruntime:fp16, fusion: first divergent tensor `layer_norm_2`, written by `node_layer_norm_2` (LayerNormalization), "
        "in the graph under test by `node_layer_norm_2_output_cast0` (Cast): inf of its range > 0.03 (sample 1; "
        "fusion.fp16.onnx against fusion.fp32.onnx, 179 of 269 tensors shared)"
    ) in page
    assert "- onnxruntime:fp16, text_encoder: no shared tensor differs by more than 0.03 of its range with every tensor marked" in page
    assert "first diverge" not in parity_markdown(parity_report())  # no section without --localize


def test_a_folder_without_reports_is_refused(tmp_path):
    with pytest.raises(HarisError, match="no benchmark report"):
        merge_reports([tmp_path], tmp_path / "page.md")


def test_reports_and_the_speed_worker_import_no_torch():
    # `haris bench report` runs where only a deployment is installed, and an onnxruntime speed
    # worker's memory must not include torch's.
    code = "import sys, haris.benchmarks.bench_report, haris.benchmarks.speed_worker; print('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "False"
