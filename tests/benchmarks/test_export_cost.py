"""`python -m haris.benchmarks.export_cost`: its report from its argv, on the tiny preset. The export
itself is the tiny bundle's (copied in place of tracing again: the export is tested in tests/export);
everything the benchmark measures around it runs."""

from __future__ import annotations

import json
import shutil
import sys

from haris.benchmarks import compute_peak, export_cost


def test_export_cost_reports_time_memory_sizes_speed_and_the_fp16_checks(tiny_bundle, tmp_path, monkeypatch):
    exported = []
    monkeypatch.setattr(export_cost, "export_bundle", lambda checkpoint, out: exported.append(checkpoint) or shutil.copytree(tiny_bundle, out))
    monkeypatch.setattr(compute_peak, "PEAK_SECONDS", 0.05)  # one timed matmul run is enough here
    out = tmp_path / "export_cost.json"
    argv = ["export_cost", "--preset", "tiny", "--threads", "1", "--repeats", "1", "--out", str(out), "--workdir", str(tmp_path / "work")]
    monkeypatch.setattr(sys, "argv", argv)
    export_cost.main()
    report = json.loads(out.read_text())
    assert report["preset"] == "tiny" and report["image_size"] == 256 and report["machine"]["threads"] == 1
    assert exported == [tmp_path / "work" / "checkpoint"] and (tmp_path / "work" / "bundle" / "manifest.json").is_file()  # --workdir keeps them
    assert set(report["bundle_mib"]) == {"fp32", "fp16"} and all(size > 0 for size in report["bundle_mib"].values())
    assert report["export_seconds"] >= 0 and report["export_peak_rss_gib"] > 0
    assert report["onnxruntime_image_encoder_fp32_seconds"] > 0 and report["onnxruntime_matmul_peak_gflops_per_s"] > 0
    # Rounded to 0.1 GFLOP, the tiny encoder's count (about 0.04) reads 0.0; the share is computed before rounding.
    assert report["image_encoder_gflop"] >= 0 and 0 <= report["share_of_matmul_peak"] <= 1
    assert set(report["fp16_checks"]) >= {"image_encoder", "text_encoder", "fusion", "decoder"}
