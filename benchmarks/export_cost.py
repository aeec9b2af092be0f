"""What exporting the paper preset costs on this machine, and how fast its image encoder runs in onnxruntime.

    python -m haris.benchmarks.export_cost --preset paper --out export_cost.json

Measured in one process, side by side: the export (time, peak RSS), onnxruntime FP32 latency of the
exported image encoder, this machine's onnxruntime FP32 MatMul peak (a large square MatMul graph),
and the encoder's share of that peak (its matmul + conv FLOPs counted once by torch's counter).
The FP16 graphs' agreement with FP32 eager comes from the checks the export itself ran.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from haris.benchmarks.compute_peak import encoder_flops, onnxruntime_matmul_peak
from haris.benchmarks.machine_info import describe_machine
from haris.checkpoint import save_checkpoint
from haris.config import load_model_config
from haris.export.bundle_export import export_bundle
from haris.log_output import configure_logging
from haris.modeling import build_model
from haris.runtime.bundle import Bundle
from haris.runtime.onnxruntime_session import create_session


def measure_export_cost(preset: str, threads: int, repeats: int = 3, matmul_size: int = 2048, workdir: str | None = None) -> dict:
    """`workdir` keeps the checkpoint and bundle (for the speed bench); by default they are deleted."""
    torch.set_num_threads(threads)
    model = build_model(load_model_config(preset)).eval()
    with tempfile.TemporaryDirectory() as scratch:
        folder = workdir or scratch
        checkpoint = save_checkpoint(model, Path(folder) / "checkpoint")
        start = time.perf_counter()
        bundle = Bundle.open(export_bundle(checkpoint, Path(folder) / "bundle"))
        export_seconds = time.perf_counter() - start
        export_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
        encoder_seconds = _time_image_encoder(bundle, threads, repeats)
        sizes = {
            p: sum((bundle.directory / spec.file).stat().st_size for spec in graphs.values()) / 2**20 for p, graphs in bundle.manifest.graphs.items()
        }
        checks = bundle.manifest.checks
    flops = encoder_flops(model)
    peak = onnxruntime_matmul_peak(matmul_size, threads)
    return {
        "machine": describe_machine(threads),
        "preset": preset,
        "image_size": model.config.image_size,
        "export_seconds": round(export_seconds, 1),
        "export_peak_rss_gib": round(export_rss, 2),
        "bundle_mib": {precision: round(size, 1) for precision, size in sizes.items()},
        "onnxruntime_image_encoder_fp32_seconds": round(encoder_seconds, 3),
        "image_encoder_gflop": round(flops / 1e9, 1),
        "image_encoder_gflops_per_s": round(flops / encoder_seconds / 1e9, 1),
        "onnxruntime_matmul_peak_gflops_per_s": round(peak / 1e9, 1),
        "share_of_matmul_peak": round(flops / encoder_seconds / peak, 3),
        "fp16_checks": {name: checks["fp16"][name] for name in checks.get("fp16", {})},
    }


def _time_image_encoder(bundle: Bundle, threads: int, repeats: int) -> float:
    session = create_session(str(bundle.graph_path("image_encoder", "fp32")), threads=threads)
    size = bundle.manifest.image_size
    image = np.random.default_rng(0).standard_normal((1, 3, size, size), dtype=np.float32)
    session.run(None, {"image": image})  # warm-up: allocations and kernel selection
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        session.run(None, {"image": image})
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    configure_logging()  # run as `python -m`, outside the `haris` command
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="paper")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", help="JSON file to write (default: print only)")
    parser.add_argument("--workdir", help="keep the random-weight checkpoint and its bundle here")
    args = parser.parse_args()
    result = measure_export_cost(args.preset, args.threads, args.repeats, workdir=args.workdir)
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
