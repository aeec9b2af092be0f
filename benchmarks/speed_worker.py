"""The speed benchmark's worker: one backend measured in a fresh process, every shape in turn.

    python -m haris.benchmarks.speed_worker JOB.json RESULT.json   (run by speed_bench, not by hand)

A fresh process per backend, because the host memory high-water mark never goes down within a
process, and because torch's OpenMP threads and onnxruntime's thread pool, both alive in one
process, compete for the same cores. A plain interpreter started with `-m`, not multiprocessing:
spawn re-imports the caller's main script, which breaks scripts without a `__main__` guard. This
module imports only what every backend needs (no torch, no matplotlib), so an onnxruntime
worker's memory is an onnxruntime deployment's.

Memory: host RSS before the backend is opened and the process's high-water mark (VmHWM) after
its runs. A CUDA process has no high-water mark the driver reports, so `DeviceMemory` takes the
device's used memory (cudaMemGetInfo: total - free) before opening and after the runs, while
the buffers are still held; eager torch reports its caching allocator's own peak instead. The
difference counts other processes on the same GPU too: benchmark on an otherwise idle GPU.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from haris.benchmarks.bench_backends import BackendSpec, open_spec, parse_backend
from haris.benchmarks.compute_peak import measure_compute_reference
from haris.benchmarks.prepost_speed import photo_like_image
from haris.errors import HarisError
from haris.log_output import configure_logging
from haris.runtime.predictor import Predictor
from haris.runtime.stage_clock import PIPELINE_STAGES, StageTimer

# Words of distinct, realistic referring expressions (8-9 tokens: the text length L matters).
SIZES = ("small", "big", "tall", "narrow")
COLOURS = ("red", "green", "blue", "yellow", "purple", "orange")
SHAPES = ("circle", "square", "triangle", "star", "car", "cup")
PLACES = ("on the left", "on the right", "at the top", "at the bottom", "in the middle")
MIB = 1 << 20


def measure_backend(spec: BackendSpec, checkpoint: str, bundle: str, settings: dict[str, Any]) -> dict[str, Any]:
    """Every (N images, E expressions) shape of `settings` on one backend: {"runs", "memory", ...},
    or {"skipped": reason} when it cannot be opened here (no engines, no such provider)."""
    device_memory = DeviceMemory(spec.device)
    rss_before = rss_mib()
    try:
        # No feature cache: every pass must encode its images, as new images would be.
        predictor = open_spec(spec, checkpoint, bundle, settings["threads"], cache_bytes=0)
    except HarisError as error:
        return {"skipped": str(error)}
    runs = [time_shape(predictor, batch, count, settings) for batch in settings["batches"] for count in settings["expressions_per_image"]]
    memory = {"rss_before_open_mib": rss_before, "peak_rss_mib": peak_rss_mib(), "device_mib": device_memory.used_mib(predictor.backend)}
    timing = predictor.backend.clock().kind
    predictor.close()
    return {"precision": spec.precision, "device": spec.device, "timing": timing, "runs": runs, "memory": memory, "engine": predictor.description}


def time_shape(predictor: Predictor, batch: int, count: int, settings: dict[str, Any]) -> dict[str, Any]:
    """Warm-up passes, then timed ones, for N = `batch` images with E = `count` expressions each."""
    items = list(zip(*speed_inputs(batch, count, settings["image_shape"])))
    for _ in range(settings["warmup"]):
        timed_pass(predictor, items)
    stats = summarize_passes([timed_pass(predictor, items) for _ in range(settings["iterations"])])
    seconds = stats["end_to_end"]["p50"]
    return {
        "batch": batch,
        "expressions_per_image": count,
        "stages": {stage: stats[stage] for stage in PIPELINE_STAGES},
        "end_to_end": stats["end_to_end"],
        "images_per_s": batch / seconds,
        "expressions_per_s": batch * count / seconds,
    }


def timed_pass(predictor: Predictor, items: list[tuple[np.ndarray, list[str]]]) -> dict[str, float]:
    """Seconds per stage (the backend's clock, through the Predictor's timer) and end to end (host
    wall time, masks on the host) of one `predict_batch` over the items."""
    timer = StageTimer(predictor.backend.clock())
    start = time.perf_counter()
    predictor.predict_batch(items, timer)
    end_to_end = time.perf_counter() - start
    return {**timer.seconds(), "end_to_end": end_to_end}


def summarize_passes(passes: Sequence[dict[str, float]]) -> dict[str, dict[str, float]]:
    """p50, p90 and p99 of every stage and of end to end, over the timed passes."""
    names = (*PIPELINE_STAGES, "end_to_end")
    return {name: dict(zip(("p50", "p90", "p99"), map(float, np.percentile([p[name] for p in passes], [50, 90, 99])))) for name in names}


def speed_inputs(batch: int, count: int, image_shape: tuple[int, int]) -> tuple[list[np.ndarray], list[list[str]]]:
    """`batch` distinct photo-like images (H, W) and `count` distinct expressions for each."""
    height, width = image_shape
    images = [photo_like_image(height, width, seed=index) for index in range(batch)]
    expressions = [[referring_expression(image * count + number) for number in range(count)] for image in range(batch)]
    return images, expressions


def referring_expression(index: int) -> str:
    """The index-th of a fixed sequence of distinct expressions such as 'the big red star on the left'."""
    words = []
    for choices in (SIZES, COLOURS, SHAPES, PLACES):
        index, pick = divmod(index, len(choices))
        words.append(choices[pick])
    return "the " + " ".join(words)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the job in JOB.json ({"job": "compute" | "backend", "arguments": {...}}); write its result."""
    configure_logging()  # run as `python -m`, outside the `haris` command
    job_path, result_path = argv if argv is not None else sys.argv[1:]
    job = json.loads(Path(job_path).read_text(encoding="utf-8"))
    arguments = job["arguments"]
    if job["job"] == "compute":
        result = measure_compute_reference(**arguments)
    else:
        result = measure_backend(parse_backend(arguments.pop("spec")), **arguments)
    Path(result_path).write_text(json.dumps(result), encoding="utf-8")
    return 0


class DeviceMemory:
    """Device memory a backend holds: torch's allocator peak, or the used-memory difference."""

    def __init__(self, device: str) -> None:
        kind, _, index = device.partition(":")
        self.on_gpu = kind == "cuda"
        self.index = int(index or 0)
        self.baseline = self._used_bytes() if self.on_gpu else 0

    def used_mib(self, backend: Any) -> float | None:
        """MiB the backend holds now (None on a CPU); eager torch reports its allocator's peak."""
        if not self.on_gpu:
            return None
        if backend.name == "torch":
            import torch

            return torch.cuda.max_memory_allocated(self.index) / MIB
        return (self._used_bytes() - self.baseline) / MIB

    def _used_bytes(self) -> int:
        from haris.runtime.cuda_memory import checked, cuda_runtime, select_device

        select_device(self.index)
        free, total = checked("cudaMemGetInfo", cuda_runtime().cudaMemGetInfo())
        return int(total) - int(free)


def rss_mib() -> float:
    """Resident set size of this process now, in MiB."""
    return _status_kib("VmRSS") / 1024


def peak_rss_mib() -> float:
    """The largest resident set this process has had, in MiB."""
    kib = _status_kib("VmHWM") or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    return kib / 1024


def _status_kib(field: str) -> int:
    try:
        lines = Path("/proc/self/status").read_text().splitlines()
    except OSError:
        return 0
    for line in lines:
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    return 0


if __name__ == "__main__":
    sys.exit(main())
