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
import onnx
import torch
from onnx import TensorProto, helper
from torch.utils.flop_counter import FlopCounterMode

from haris.benchmarks.model_forward import machine_info
from haris.checkpoint import save_checkpoint
from haris.config import load_model_config
from haris.export.bundle_export import export_bundle
from haris.modeling import build_model
from haris.runtime.bundle import Bundle
from haris.runtime.onnxruntime_session import create_session


def measure_export_cost(preset: str, threads: int, repeats: int = 3, matmul_size: int = 2048) -> dict:
    torch.set_num_threads(threads)
    model = build_model(load_model_config(preset), load_pretrained=False).eval()
    with tempfile.TemporaryDirectory() as folder:
        checkpoint = save_checkpoint(model, Path(folder) / "checkpoint")
        start = time.perf_counter()
        bundle = Bundle.open(export_bundle(checkpoint, Path(folder) / "bundle"))
        export_seconds = time.perf_counter() - start
        export_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
        encoder_seconds = _time_image_encoder(bundle, threads, repeats)
        sizes = {p: sum((bundle.directory / spec.file).stat().st_size for spec in graphs.values()) / 2**20 for p, graphs in bundle.manifest.graphs.items()}
        checks = bundle.manifest.checks
    flops = _image_encoder_flops(model)
    peak = _onnxruntime_matmul_peak(threads, matmul_size, repeats)
    return {
        "machine": machine_info(threads), "preset": preset, "image_size": model.config.image_size,
        "export_seconds": round(export_seconds, 1), "export_peak_rss_gib": round(export_rss, 2),
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


def _image_encoder_flops(model) -> int:
    size = model.config.image_size
    counter = FlopCounterMode(display=False)
    with counter, torch.inference_mode():
        model.encode_image(torch.zeros(1, 3, size, size))
    return counter.get_total_flops()


def _onnxruntime_matmul_peak(threads: int, size: int, repeats: int) -> float:
    """FLOP/s of one large FP32 MatMul in onnxruntime: the ceiling the encoder is judged against."""
    shape = [size, size]
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["a", "b"], ["c"])], "matmul_peak",
        [helper.make_tensor_value_info(name, TensorProto.FLOAT, shape) for name in ("a", "b")],
        [helper.make_tensor_value_info("c", TensorProto.FLOAT, shape)],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    session = create_session(model.SerializeToString(), threads=threads)
    rng = np.random.default_rng(0)
    feeds = {name: rng.standard_normal(shape, dtype=np.float32) for name in ("a", "b")}
    session.run(None, feeds)
    times = []
    for _ in range(max(repeats, 5)):
        start = time.perf_counter()
        session.run(None, feeds)
        times.append(time.perf_counter() - start)
    return 2 * size**3 / min(times)  # the best run: a peak, not a typical time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="paper")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", help="JSON file to write (default: print only)")
    args = parser.parse_args()
    result = measure_export_cost(args.preset, args.threads, args.repeats)
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
