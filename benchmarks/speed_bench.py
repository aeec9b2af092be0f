"""Speed benchmark: per-stage latency, throughput, memory and encoder FLOP/s of each runtime.

    haris bench speed --checkpoint RUN --bundle B --images-per-batch 1,4 --expressions-per-image 1,4,16 --out DIR

Each backend (bench_backends: the eager baselines a user would pick instead, and the bundle's
runtimes) runs in a fresh worker process (speed_worker) with the same thread count: torch's
intra-op threads, onnxruntime's intra-op threads and the pre/post-processing kernels all get
`threads`. Per shape (N images, E expressions each) it reports p50/p90/p99 of every stage and of
end to end, timed on the Predictor's own path (its `predict_batch` and stage timer, with no feature
cache, so every pass encodes its images), images/s and expressions/s at the p50, and the image encoder's
achieved FLOP/s against the roof of the arithmetic it runs, from matmul peaks measured in this run
(compute_peak).
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from haris.benchmarks.bench_backends import BackendSpec, default_speed_backends, parse_backends, skip_reason
from haris.benchmarks.compute_peak import CPU_MATMUL_SIZE, needed_peaks, no_fast_path_reason, peak_key, roof_for
from haris.benchmarks.machine_info import describe_bundle, describe_machine
from haris.benchmarks.worker_process import python_command, python_environment
from haris.errors import HarisError
from haris.runtime.bundle import Bundle
from haris.runtime.stage_clock import PIPELINE_STAGES

DEFAULT_IMAGE_SHAPE = (480, 640)  # a COCO-sized photo (H, W): pre- and post-processing scale with it


def run_speed(
    checkpoint: str | Path,
    bundle: str | Path,
    backends: str | Sequence[str] | None = None,
    batches: Sequence[int] = (1, 4),
    expressions_per_image: Sequence[int] = (1, 4, 16),
    threads: int | None = None,
    iterations: int = 10,
    warmup: int = 2,
    out: str | Path | None = None,
    image_shape: tuple[int, int] = DEFAULT_IMAGE_SHAPE,
    matmul_size: int = CPU_MATMUL_SIZE,
) -> dict[str, Any]:
    """Measure every backend at every shape; write the report to `out` if given and return it.

    `backends` None: eager FP32 (and BF16 where the CPU runs it natively; FP32 / FP16 autocast on a
    GPU), onnxruntime FP32 and FP16, TensorRT FP16. Backends this machine cannot run are listed under "skipped" with why.
    `image_shape` (H, W) of the synthetic photos; `matmul_size` of the CPU matmul peak measurement.
    """
    threads = threads or os.cpu_count() or 1
    opened = Bundle.open(bundle)  # refuses an altered bundle before any worker starts
    manifest = opened.manifest
    _check_shapes(batches, expressions_per_image, iterations, warmup, manifest.dynamic_axes)
    machine = describe_machine(threads)
    specs = parse_backends(backends) if backends else default_speed_backends(machine["gpu"] is not None)
    settings = _settings(batches, expressions_per_image, threads, iterations, warmup, image_shape, manifest.image_size)
    compute = _measure_compute(checkpoint, opened, [spec for spec in specs if skip_reason(spec) is None], threads, matmul_size)
    results, skipped = _measure_backends(specs, str(checkpoint), str(bundle), settings, compute)
    report = {
        "kind": "speed",
        "machine": machine,
        "bundle": describe_bundle(bundle),
        "checkpoint": str(checkpoint),
        "settings": settings,
        "compute": compute,
        "backends": results,
        "skipped": skipped,
    }
    if out is not None:
        from haris.benchmarks.bench_report import write_speed_report  # matplotlib only where a report is written

        write_speed_report(report, out)
    return report


def _settings(
    batches: Sequence[int],
    expressions_per_image: Sequence[int],
    threads: int,
    iterations: int,
    warmup: int,
    image_shape: tuple[int, int],
    image_size: int,
) -> dict[str, Any]:
    """What every worker measures with, as the report records it."""
    return {
        "batches": list(batches),
        "expressions_per_image": list(expressions_per_image),
        "threads": threads,
        "iterations": iterations,
        "warmup": warmup,
        "image_shape": list(image_shape),
        "image_size": image_size,
        "stages": list(PIPELINE_STAGES),
    }


def _measure_backends(
    specs: Sequence[BackendSpec], checkpoint: str, bundle: str, settings: dict[str, Any], compute: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, str]]:
    """{label: measurements} of the backends that ran, each in its own worker; {label: why} of the rest."""
    results, skipped = {}, {}
    for spec in specs:
        reason = skip_reason(spec)  # known without a worker: no process started to say "no GPU"
        measured = (
            {"skipped": reason} if reason else _in_fresh_process("backend", spec=spec.label, checkpoint=checkpoint, bundle=bundle, settings=settings)
        )
        if "skipped" in measured:
            skipped[spec.label] = measured["skipped"]
            continue
        for run in measured["runs"]:
            run.update(encoder_efficiency(run, spec.label, spec.precision, spec.on_gpu, compute))
        results[spec.label] = measured
    return results, skipped


def encoder_efficiency(run: dict[str, Any], label: str, precision: str, on_gpu: bool, compute: dict[str, Any]) -> dict[str, Any]:
    """The image encoder's achieved FLOP/s at its p50 latency, and its fraction of the roof of the
    arithmetic it runs (or, for a precision with no fast path here, why there is none)."""
    flops = compute["encoder_flops_per_image"] * run["batch"]
    achieved = flops / run["stages"]["image_encoder"]["p50"]
    roof = roof_for(label, precision, on_gpu, compute)
    no_peak = no_fast_path_reason(precision) if peak_key(label.split(":")[0], precision, on_gpu) is None else None
    return {
        "encoder_flops_per_s": achieved,
        "encoder_roof": None if roof is None else roof[0],
        "encoder_roof_flops_per_s": None if roof is None else roof[1],
        "encoder_roof_fraction": None if roof is None else achieved / roof[1],
        "encoder_no_fast_path": no_peak,
    }


def _measure_compute(checkpoint: str | Path, bundle: Bundle, specs: Sequence[BackendSpec], threads: int, matmul_size: int) -> dict[str, Any]:
    """The encoder's FLOPs, their INT8 graph's split and the matmul peaks the runnable `specs` are judged against."""
    return _in_fresh_process(
        "compute",
        checkpoint=str(checkpoint),
        threads=threads,
        peaks=needed_peaks(specs),
        matmul_size=matmul_size,
        image_size=bundle.manifest.image_size,
        int8_encoder_graph=_int8_encoder_graph(bundle, specs),
    )


def _int8_encoder_graph(bundle: Bundle, specs: Sequence[BackendSpec]) -> str | None:
    """The bundle's INT8 image-encoder graph where a CPU backend will run it (its split of integer
    and float arithmetic sets that backend's roof), else None."""
    if "image_encoder" not in bundle.manifest.graphs.get("int8", {}) or not any(spec.precision == "int8" and not spec.on_gpu for spec in specs):
        return None
    return str(bundle.graph_path("image_encoder", "int8"))


def _in_fresh_process(job: str, **arguments: Any) -> dict[str, Any]:
    """A speed_worker job in a new interpreter (not a fork: a forked child would inherit this
    process's memory, threads and CUDA state); its errors go to this process's stderr."""
    with tempfile.TemporaryDirectory(prefix="haris-speed-") as folder:
        job_file, result_file = Path(folder, "job.json"), Path(folder, "result.json")
        job_file.write_text(json.dumps({"job": job, "arguments": arguments}), encoding="utf-8")
        command = python_command("-m", "haris.benchmarks.speed_worker", str(job_file), str(result_file))
        finished = subprocess.run(command, env=python_environment())
        if finished.returncode != 0:
            raise HarisError(f"the speed benchmark's {job} worker failed (exit code {finished.returncode}); its error is printed above")
        return json.loads(result_file.read_text(encoding="utf-8"))


def _check_shapes(
    batches: Sequence[int], expressions_per_image: Sequence[int], iterations: int, warmup: int, dynamic_axes: dict[str, tuple[int, int]]
) -> None:
    """Refuse, before any worker starts, shapes the bundle's graphs were not exported for."""
    if iterations < 1 or warmup < 0:
        raise HarisError(f"need at least one timed iteration and no negative warm-up, got {iterations} and {warmup}")
    for name, values, axis in (("--images-per-batch", batches, "N"), ("--expressions-per-image", expressions_per_image, "B")):
        low, high = dynamic_axes[axis]
        if not values or not all(low <= value <= high for value in values):
            raise HarisError(f"{name} {list(values)}: the bundle's graphs take {axis} from {low} to {high}")
