from __future__ import annotations

from haris.benchmarks.model_forward import format_markdown, run_benchmark


def test_tiny_benchmark_runs_in_a_worker_and_reports_its_fields():
    report = run_benchmark(["tiny"], image_size=64, expressions=2, iterations=2, threads=1)
    (row,) = report["results"]
    assert row["preset"] == "tiny" and row["image_size"] == 64 and row["expressions"] == 2
    assert len(row["latency_s"]["all"]) == 2 and row["latency_s"]["min"] <= row["latency_s"]["median"]
    assert set(row["stage_s"]) == {"encode_image", "encode_text", "fuse", "decode"}
    assert row["peak_rss_mib"] >= row["rss_after_build_mib"] > 0
    assert row["params_total"] > row["params_trainable"] > 0
    table = format_markdown(report)
    assert table.startswith("| preset |") and "| tiny | - | 64 | 2 |" in table
