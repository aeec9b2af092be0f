"""How close the image encoder gets to this machine's matmul peak, measured in the same run.

The encoder's FLOPs are counted once, on the eager model (eager_baselines.encoder_flops). The peak
is measured here, in one process: a large square matmul in onnxruntime (its MLAS kernels) and in
torch (oneDNN / cuBLAS), fp32 everywhere, plus the reduced precision a user would run (bf16 on a
CPU, fp16 on a GPU). Measured rather than taken from a data sheet: a shared or throttled machine
runs below its nominal peak, and the fraction reported should be of what it can do now.

Which peak judges a backend: its compute precision's best. FP32 graphs and onnxruntime's FP16
graphs on a CPU (which has no fast FP16 path: they convert to FP32) against the best FP32 peak;
bf16 autocast against torch's bf16 peak; FP16 and bf16 on a GPU against torch's FP16 peak.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

CPU_MATMUL_SIZE = 2048  # 17 GFLOP: long enough to time, short enough for a 2-core CPU
GPU_MATMUL_SIZE = 8192
REPEATS = 5


def measure_compute_reference(checkpoint: str | Path, threads: int, gpu_present: bool, matmul_size: int = CPU_MATMUL_SIZE) -> dict[str, Any]:
    """The encoder's FLOPs per image and the matmul peaks (FLOP/s) of this machine, right now;
    CPU peaks from (matmul_size)-square products (smaller ones stay below the peak)."""
    import torch

    from haris.benchmarks.eager_baselines import EagerBackend, encoder_flops

    torch.set_num_threads(threads)
    peaks = {
        "onnxruntime:fp32": onnxruntime_matmul_peak(matmul_size, threads),
        "torch:fp32": torch_matmul_peak(matmul_size, torch.float32, "cpu"),
        "torch:bf16": torch_matmul_peak(matmul_size, torch.bfloat16, "cpu"),
    }
    if gpu_present:
        peaks["torch:fp32@cuda"] = torch_matmul_peak(GPU_MATMUL_SIZE, torch.float32, "cuda")
        peaks["torch:fp16@cuda"] = torch_matmul_peak(GPU_MATMUL_SIZE, torch.float16, "cuda")
    flops = encoder_flops(EagerBackend(checkpoint, "cpu").model)
    return {"encoder_flops_per_image": flops, "matmul_size": matmul_size, "gpu_matmul_size": GPU_MATMUL_SIZE if gpu_present else None,
            "matmul_peaks": peaks}


def torch_matmul_peak(size: int, dtype: Any, device: str) -> float:
    """FLOP/s of the fastest of REPEATS (size x size) @ (size x size) products, after one warm-up."""
    import torch

    left, right = (torch.randn(size, size, device=device).to(dtype) for _ in range(2))
    if device == "cuda":
        return 2 * size**3 / _best_cuda_seconds(lambda: torch.matmul(left, right))
    return 2 * size**3 / _best_host_seconds(lambda: torch.matmul(left, right))


def onnxruntime_matmul_peak(size: int, threads: int) -> float:
    """FLOP/s of onnxruntime's CPU MatMul on two fp32 (size x size) inputs, with `threads` threads."""
    import onnx
    from onnx import TensorProto, helper

    from haris.runtime.onnxruntime_session import create_session

    inputs = [helper.make_tensor_value_info(name, TensorProto.FLOAT, [size, size]) for name in ("left", "right")]
    output = helper.make_tensor_value_info("product", TensorProto.FLOAT, [size, size])
    graph = helper.make_graph([helper.make_node("MatMul", ["left", "right"], ["product"])], "matmul_peak", inputs, [output])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = min(model.ir_version, onnx.IR_VERSION)
    session = create_session(model.SerializeToString(), threads=threads)
    rng = np.random.default_rng(0)
    feeds = {name: rng.standard_normal((size, size), dtype=np.float32) for name in ("left", "right")}
    return 2 * size**3 / _best_host_seconds(lambda: session.run(None, feeds))


def peak_for(label: str, precision: str, on_gpu: bool, peaks: dict[str, float]) -> tuple[str, float] | None:
    """(name, FLOP/s) of the peak an image encoder run by backend `label` is judged against."""
    if on_gpu:
        key = "torch:fp32@cuda" if precision == "fp32" else "torch:fp16@cuda"
        return (key, peaks[key]) if key in peaks else None
    if precision == "bf16" and label.startswith("torch"):
        return "torch:bf16", peaks["torch:bf16"]
    key = max(("onnxruntime:fp32", "torch:fp32"), key=lambda name: peaks[name])
    return key, peaks[key]


def _best_host_seconds(run: Callable[[], object]) -> float:
    run()
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def _best_cuda_seconds(run: Callable[[], object]) -> float:
    import torch

    run()
    times = []
    for _ in range(REPEATS):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        run()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end) / 1000.0)
    return min(times)
