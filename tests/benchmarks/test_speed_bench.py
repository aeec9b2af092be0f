"""The speed benchmark times every stage of every runnable backend and skips the others with a reason."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest

from haris.benchmarks import bench_backends, compute_peak
from haris.benchmarks.bench_backends import BackendSpec, parse_backends
from haris.benchmarks.compute_peak import peak_for
from haris.benchmarks.speed_bench import run_speed
from haris.benchmarks.speed_worker import DeviceMemory, peak_rss_mib, rss_mib, speed_inputs, summarize_passes
from haris.cpu_features import parse_cpuinfo
from haris.errors import HarisError
from haris.runtime.stage_clock import PIPELINE_STAGES as STAGE_NAMES
from haris.runtime.stage_clock import HostClock


def test_two_backends_two_shapes_one_iteration(tiny_checkpoint, tiny_bundle, tmp_path):
    report = run_speed(
        tiny_checkpoint,
        tiny_bundle,
        "torch:fp32,onnxruntime:fp32,tensorrt:fp16",
        batches=(1, 2),
        expressions_per_image=(3,),
        threads=1,
        iterations=2,
        warmup=1,
        out=tmp_path,
        image_shape=(60, 80),
        matmul_size=128,
    )
    assert set(report["backends"]) == {"torch:fp32", "onnxruntime:fp32"} and "tensorrt:fp16" in report["skipped"]
    assert report["compute"]["encoder_flops_per_image"] > 0 and min(report["compute"]["matmul_peaks"].values()) > 0
    for result in report["backends"].values():
        assert [(run["batch"], run["expressions_per_image"]) for run in result["runs"]] == [(1, 3), (2, 3)]
        assert result["memory"]["peak_rss_mib"] >= result["memory"]["rss_before_open_mib"] > 0
        for run in result["runs"]:
            assert set(run["stages"]) == set(STAGE_NAMES)
            assert all(0 < stats["p50"] <= stats["p90"] <= stats["p99"] for stats in [*run["stages"].values(), run["end_to_end"]])
            assert run["expressions_per_s"] == pytest.approx(3 * run["images_per_s"])
            assert run["encoder_flops_per_s"] > 0 and run["encoder_roof"] in report["compute"]["matmul_peaks"]
    saved = json.loads((tmp_path / "speed.json").read_text())
    assert saved["settings"]["threads"] == 1 and saved["machine"]["cpu_cores"] >= 1
    assert "| onnxruntime:fp32 | 2 | 3 |" in (tmp_path / "speed.md").read_text()
    assert all((tmp_path / name).read_bytes().startswith(b"\x89PNG") for name in ("stage_latency.png", "throughput.png"))


def test_shapes_the_bundle_was_not_exported_for_are_refused(tiny_checkpoint, tiny_bundle):
    with pytest.raises(HarisError, match="--images-per-batch"):
        run_speed(tiny_checkpoint, tiny_bundle, "onnxruntime:fp32", batches=(1, 1000), expressions_per_image=(1,))


def test_backend_specs_parse_with_default_devices():
    specs = parse_backends("onnxruntime:fp16, torch:bf16,tensorrt:fp16@cuda:1,onnxruntime:fp16")
    assert specs == [BackendSpec("onnxruntime", "fp16", "cpu"), BackendSpec("torch", "bf16", "cpu"), BackendSpec("tensorrt", "fp16", "cuda:1")]
    assert [spec.label for spec in specs] == ["onnxruntime:fp16", "torch:bf16", "tensorrt:fp16@cuda:1"]
    with pytest.raises(HarisError, match="precisions"):
        parse_backends("onnxruntime:bf16")


def test_each_image_gets_its_own_features_and_distinct_expressions():
    images, expressions = speed_inputs(2, 3, (20, 30))
    assert [image.shape for image in images] == [(20, 30, 3)] * 2 and not np.array_equal(*images)
    assert len({text for texts in expressions for text in texts}) == 6


def test_percentiles_are_per_stage():
    passes = [{**dict.fromkeys(STAGE_NAMES, float(index)), "end_to_end": 10.0 * index} for index in range(101)]
    stats = summarize_passes(passes)
    assert stats["decoder"] == {"p50": 50.0, "p90": 90.0, "p99": 99.0} and stats["end_to_end"]["p99"] == 990.0


def with_cpu(monkeypatch, flags: str) -> None:
    """Make the bench modules see a CPU with these /proc/cpuinfo flags."""
    features = parse_cpuinfo(f"model name\t: Test CPU\nflags\t\t: {flags}\n")
    for module in (bench_backends, compute_peak):
        monkeypatch.setattr(module, "cpu_features", lambda: features)


def test_each_backend_is_judged_against_the_peak_of_its_compute_precision(monkeypatch):
    with_cpu(monkeypatch, "avx2 fma avx512f avx512_bf16 avx512_vnni")
    peaks = {"onnxruntime:fp32": 4e11, "torch:fp32": 2e11, "torch:bf16": 8e11, "torch:fp32@cuda": 5e13, "torch:fp16@cuda": 7e14}
    assert peak_for("torch:fp32", "fp32", False, peaks) == ("onnxruntime:fp32", 4e11)  # the machine's best FP32
    assert peak_for("torch:fp32", "fp32", False, {"torch:fp32": 2e11}) == ("torch:fp32", 2e11)  # the best measured
    assert peak_for("onnxruntime:fp16", "fp16", False, peaks) == ("onnxruntime:fp32", 4e11)  # no FP16 units on a CPU
    assert peak_for("torch:bf16", "bf16", False, peaks) == ("torch:bf16", 8e11)
    assert peak_for("tensorrt:fp16", "fp16", True, peaks) == ("torch:fp16@cuda", 7e14)
    assert peak_for("tensorrt:fp16", "fp16", True, {"torch:fp32": 1.0}) is None
    assert peak_for("onnxruntime:int8", "int8", False, peaks | {"onnxruntime:int8": 9e11}) == ("onnxruntime:int8", 9e11)  # INT8's own roof
    openvino = {"openvino:fp32": 5e11, "openvino:bf16": 1.6e12, "openvino:int8": 2e12}
    assert peak_for("openvino:fp32", "fp32", False, peaks | openvino) == ("openvino:fp32", 5e11)  # the best FP32, whichever engine
    assert peak_for("openvino:bf16", "bf16", False, peaks | openvino) == ("openvino:bf16", 1.6e12)  # its own BF16 roof, not torch's
    assert peak_for("openvino:int8", "int8", False, peaks | openvino) == ("openvino:int8", 2e12)


def test_int8_is_judged_against_the_int8_matmul_peak_measured_on_the_q_dq_pattern_our_graphs_use():
    specs = parse_backends("onnxruntime:fp32,onnxruntime:int8")
    assert compute_peak.needed_peaks(specs) == ["onnxruntime:fp32", "onnxruntime:int8"]
    assert compute_peak.onnxruntime_int8_matmul_peak(256, 1) > 1e8  # 34 MOP: any working CPU kernel does this in well under 0.3 s


def test_openvino_peaks_are_measured_on_the_same_graphs():
    pytest.importorskip("openvino")
    specs = parse_backends("openvino:fp32,openvino:int8")
    assert compute_peak.needed_peaks(specs) == ["openvino:fp32", "openvino:int8"]
    for graph in (compute_peak.matmul_graph(256), compute_peak.int8_matmul_graph(256)):
        assert compute_peak.openvino_matmul_peak(graph, "f32", 1) > 1e8


def test_a_precision_without_a_fast_path_has_no_peak_and_is_never_measured(monkeypatch):
    with_cpu(monkeypatch, "avx2 fma")
    assert peak_for("torch:bf16", "bf16", False, {"torch:bf16": 1e9, "torch:fp32": 5e10}) is None
    assert peak_for("torch:fp16", "fp16", False, {"torch:fp32": 5e10}) is None
    assert "no native BF16" in compute_peak.no_fast_path_reason("bf16")
    specs = parse_backends("torch:fp32,torch:bf16,onnxruntime:fp16,onnxruntime:fp32")
    assert compute_peak.needed_peaks(specs) == ["torch:fp32", "onnxruntime:fp32"]
    with_cpu(monkeypatch, "avx2 fma avx512f avx512_bf16")
    assert compute_peak.needed_peaks(specs) == ["torch:fp32", "torch:bf16", "onnxruntime:fp32"]
    assert compute_peak.needed_peaks(parse_backends("openvino:bf16")) == ["openvino:bf16"]


def test_a_bare_backend_runs_its_default_precisions_for_this_cpu(monkeypatch):
    with_cpu(monkeypatch, "avx2 fma")
    assert [spec.label for spec in parse_backends("onnxruntime")] == ["onnxruntime:fp32", "onnxruntime:fp16"]
    assert [spec.label for spec in parse_backends("torch,tensorrt")] == ["torch:fp32", "tensorrt:fp16"]
    assert [spec.label for spec in bench_backends.default_speed_backends(False)][:2] == ["torch:fp32", "onnxruntime:fp32"]
    assert [spec.label for spec in parse_backends("openvino")] == ["openvino:fp32"]
    with_cpu(monkeypatch, "avx2 fma avx512f avx512_bf16")
    assert [spec.label for spec in parse_backends("torch")] == ["torch:fp32", "torch:bf16"]
    assert [spec.label for spec in parse_backends("openvino")] == ["openvino:fp32", "openvino:bf16"]
    assert [spec.label for spec in parse_backends("torch@cuda")] == ["torch:fp32@cuda", "torch:fp16@cuda"]
    with pytest.raises(HarisError, match="names no precision"):
        bench_backends.parse_backend("onnxruntime")


def test_each_peak_is_measured_in_bounded_time(monkeypatch):
    monkeypatch.setattr(compute_peak, "PEAK_SECONDS", 0.05)
    calls = []
    compute_peak._best_host_seconds(lambda: calls.append(time.sleep(0.03)))
    assert len(calls) == 3  # the warm-up, then timed runs until 0.05 s have passed: two, not REPEATS


def test_cpu_backends_use_the_host_clock_and_report_no_device_memory(tiny_bundle):
    class CpuBackend:
        name = "onnxruntime"

    clock = bench_backends.open_spec(BackendSpec("onnxruntime", "fp32", "cpu"), "", tiny_bundle, 1).backend.clock()
    assert type(clock) is HostClock
    start = clock.mark()
    assert clock.seconds(start, clock.mark()) >= 0.0
    assert DeviceMemory("cpu").used_mib(CpuBackend()) is None
    assert peak_rss_mib() >= rss_mib() > 0


def test_eager_runs_at_the_size_the_bundle_was_exported_at(tiny_bundle, tmp_path):
    from tiny_models import build_tiny

    from haris.benchmarks.bench_backends import open_spec, parse_backend
    from haris.checkpoint import save_checkpoint

    larger = save_checkpoint(build_tiny(["image_size=320"]), tmp_path / "checkpoint")
    with open_spec(parse_backend("torch:fp32"), larger, tiny_bundle, threads=1) as eager:
        assert eager.settings.image_size == 256 and eager.description["image_size"] == 256
        (prediction,) = eager.segment(np.zeros((40, 60, 3), np.uint8), ["the thing"])
        assert prediction.mask.shape == (40, 60)
