"""How close the image encoder gets to the roof of its arithmetic: matmul peaks measured in the same run.

The encoder's FLOPs are counted once, on the eager model (`encoder_flops`). The peaks
are measured here, in one process, and only those the benchmarked backends are judged against: a
large square matmul in onnxruntime (its MLAS kernels), OpenVINO (oneDNN) and torch (oneDNN /
cuBLAS) in FP32; BF16 in torch and OpenVINO where the CPU runs it natively; INT8 as our Q/DQ
graphs hold it in onnxruntime and OpenVINO; FP32 and FP16 on a GPU. Measured rather than taken from a data
sheet: a shared or throttled machine runs below its nominal peak, and the fraction reported should
be of what it can do now. Each peak is bounded in time (PEAK_SECONDS), so a slow path costs seconds.

Which peak judges a backend: its compute precision's best. FP32 graphs and onnxruntime's FP16
graphs on a CPU (which has no fast FP16 path: they convert to FP32) against the best FP32 peak
measured; BF16 against its own engine's BF16 peak (torch's for autocast, OpenVINO's for its BF16
inference precision); FP16 and BF16 on a GPU against torch's FP16 peak. A precision the CPU has no
fast path for (BF16 without native instructions, torch FP16) has no peak: reports say so instead of
quoting a share of a slow emulation.

An INT8 graph on a CPU is judged against the roof of the arithmetic it runs (`roof_for`): its
integer matmuls at the engine's INT8 peak, its float ones (Q x K^T, the relative-position terms) at the
peak of the precision the engine computes them in, each part's time added (graph_arithmetic reads
the split from the graph itself).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from haris.benchmarks.graph_arithmetic import arithmetic_by_kind
from haris.cpu_features import cpu_features

CPU_MATMUL_SIZE = 2048  # 17 GFLOP: long enough to time, short enough for a 2-core CPU
GPU_MATMUL_SIZE = 8192
REPEATS = 5
PEAK_SECONDS = 3.0  # timed repeats stop after this long (at least one is timed)


def peak_key(backend: str, precision: str, on_gpu: bool) -> str | None:
    """The peak a backend's image encoder is judged against, or None where its precision has no fast path."""
    if on_gpu:
        return "torch:fp32@cuda" if precision == "fp32" else "torch:fp16@cuda"
    if precision == "bf16":
        return f"{backend}:bf16" if cpu_features().native_bf16 and backend in ("torch", "openvino") else None
    if precision == "fp16" and backend == "torch":
        return None
    if precision == "int8":
        return f"{backend}:int8" if backend in ("onnxruntime", "openvino") else None
    return f"{backend}:fp32"


def no_fast_path_reason(precision: str) -> str:
    """Why a CPU precision has no peak to be judged against."""
    if precision == "bf16":
        return f"no native BF16 on this CPU ({cpu_features().summary()})"
    return "no FP16 arithmetic on this CPU"


def float_rest_key(backend: str) -> str:
    """The peak of the float part of an INT8 graph on a CPU: OpenVINO computes it in BF16 where the
    CPU has it natively (openvino_backend.inference_precision), onnxruntime always in FP32."""
    return "openvino:bf16" if backend == "openvino" and cpu_features().native_bf16 else f"{backend}:fp32"


def needed_peaks(specs: Sequence[Any]) -> list[str]:
    """The peaks the backends `specs` (BackendSpec) are judged against, each once, in order."""
    keys = []
    for spec in specs:
        keys.append(peak_key(spec.backend, spec.precision, spec.on_gpu))
        if spec.precision == "int8" and not spec.on_gpu:
            keys.append(float_rest_key(spec.backend))
    return list(dict.fromkeys(key for key in keys if key is not None))


def measure_compute_reference(
    checkpoint: str | Path,
    threads: int,
    peaks: Sequence[str],
    matmul_size: int = CPU_MATMUL_SIZE,
    image_size: int | None = None,
    int8_encoder_graph: str | None = None,
) -> dict[str, Any]:
    """The encoder's FLOPs per image and the matmul peaks (FLOP/s) named in `peaks`, measured now;
    CPU peaks from (matmul_size)-square products (smaller ones stay below the peak); with
    `int8_encoder_graph`, that graph's integer and float FLOPs per image (graph_arithmetic)."""
    import torch

    from haris.checkpoint.checkpoint_io import load_checkpoint

    torch.set_num_threads(threads)
    measures = {
        "onnxruntime:fp32": lambda: onnxruntime_matmul_peak(matmul_size, threads),
        "onnxruntime:int8": lambda: onnxruntime_int8_matmul_peak(matmul_size, threads),
        "openvino:fp32": lambda: openvino_matmul_peak(matmul_graph(matmul_size), "f32", threads),
        "openvino:bf16": lambda: openvino_matmul_peak(matmul_graph(matmul_size), "bf16", threads),
        "openvino:int8": lambda: openvino_matmul_peak(int8_matmul_graph(matmul_size), "f32", threads),
        "torch:fp32": lambda: torch_matmul_peak(matmul_size, torch.float32, "cpu"),
        "torch:bf16": lambda: torch_matmul_peak(matmul_size, torch.bfloat16, "cpu"),
        "torch:fp32@cuda": lambda: torch_matmul_peak(GPU_MATMUL_SIZE, torch.float32, "cuda"),
        "torch:fp16@cuda": lambda: torch_matmul_peak(GPU_MATMUL_SIZE, torch.float16, "cuda"),
    }
    measured = {key: measures[key]() for key in peaks}
    on_gpu = any(key.endswith("@cuda") for key in peaks)
    from haris.export.model_resizing import model_at_image_size

    flops = encoder_flops(model_at_image_size(load_checkpoint(checkpoint), image_size))  # at the size the bundle runs
    return {
        "encoder_flops_per_image": flops,
        "matmul_size": matmul_size,
        "gpu_matmul_size": GPU_MATMUL_SIZE if on_gpu else None,
        "matmul_peaks": measured,
        "int8_encoder_arithmetic": arithmetic_by_kind(int8_encoder_graph) if int8_encoder_graph else None,
    }


def encoder_flops(model: Any) -> int:
    """Floating-point operations of one image through a HARIS model's image encoder (a multiply-add
    counts 2), by torch's FLOP counter (matmuls, convolutions and attention); elementwise work is
    not counted, as in every FLOP/s figure quoted for these models."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    size = model.config.image_size
    image = torch.zeros(1, 3, size, size, device=next(model.parameters()).device)
    with torch.inference_mode(), FlopCounterMode(display=False) as counter:
        model.encode_image(image)
    return int(counter.get_total_flops())


def torch_matmul_peak(size: int, dtype: Any, device: str) -> float:
    """FLOP/s of the fastest of REPEATS (size x size) @ (size x size) products, after one warm-up."""
    import torch

    left, right = (torch.randn(size, size, device=device).to(dtype) for _ in range(2))
    if device == "cuda":
        return 2 * size**3 / _best_cuda_seconds(lambda: torch.matmul(left, right))
    return 2 * size**3 / _best_host_seconds(lambda: torch.matmul(left, right))


def matmul_graph(size: int) -> bytes:
    """An ONNX graph of one fp32 (size x size) @ (size x size) MatMul of its two inputs."""
    import onnx
    from onnx import TensorProto, helper

    inputs = [helper.make_tensor_value_info(name, TensorProto.FLOAT, [size, size]) for name in ("left", "right")]
    output = helper.make_tensor_value_info("product", TensorProto.FLOAT, [size, size])
    graph = helper.make_graph([helper.make_node("MatMul", ["left", "right"], ["product"])], "matmul_peak", inputs, [output])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = min(model.ir_version, onnx.IR_VERSION)
    return model.SerializeToString()


def int8_matmul_graph(size: int) -> bytes:
    """An INT8 MatMul as our Q/DQ graphs hold one: an fp32 activation quantized per tensor
    (symmetric) times an int8 weight quantized per output channel, which onnxruntime and OpenVINO
    both fuse into one integer kernel (VNNI's dot products where the CPU has them)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    weight = numpy_helper.from_array(rng.integers(-127, 128, (size, size), dtype=np.int8), "weight_q")
    weight_scale = numpy_helper.from_array(np.full(size, 0.01, np.float32), "weight_scale")
    weight_zero = numpy_helper.from_array(np.zeros(size, np.int8), "weight_zero")
    scale = numpy_helper.from_array(np.array(0.05, np.float32), "scale")
    zero = numpy_helper.from_array(np.array(0, np.int8), "zero")
    nodes = [
        helper.make_node("QuantizeLinear", ["left", "scale", "zero"], ["left_q"]),
        helper.make_node("DequantizeLinear", ["left_q", "scale", "zero"], ["left_dq"]),
        helper.make_node("DequantizeLinear", ["weight_q", "weight_scale", "weight_zero"], ["weight_dq"], axis=1),
        helper.make_node("MatMul", ["left_dq", "weight_dq"], ["product"]),
    ]
    graph = helper.make_graph(
        nodes,
        "int8_matmul_peak",
        [helper.make_tensor_value_info("left", TensorProto.FLOAT, [size, size])],
        [helper.make_tensor_value_info("product", TensorProto.FLOAT, [size, size])],
        [weight, weight_scale, weight_zero, scale, zero],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = min(model.ir_version, onnx.IR_VERSION)
    return model.SerializeToString()


def onnxruntime_matmul_peak(size: int, threads: int) -> float:
    """FLOP/s of onnxruntime's CPU MatMul on two fp32 (size x size) inputs, with `threads` threads."""
    from haris.runtime.onnxruntime_session import create_session

    session = create_session(matmul_graph(size), threads=threads)
    rng = np.random.default_rng(0)
    feeds = {name: rng.standard_normal((size, size), dtype=np.float32) for name in ("left", "right")}
    return 2 * size**3 / _best_host_seconds(lambda: session.run(None, feeds))


def onnxruntime_int8_matmul_peak(size: int, threads: int) -> float:
    """Operations/s of onnxruntime's CPU INT8 MatMul as our Q/DQ graphs run it (int8_matmul_graph)."""
    from haris.runtime.onnxruntime_session import create_session

    session = create_session(int8_matmul_graph(size), threads=threads)
    feeds = {"left": np.random.default_rng(0).standard_normal((size, size), dtype=np.float32)}
    return 2 * size**3 / _best_host_seconds(lambda: session.run(None, feeds))


def openvino_matmul_peak(graph: bytes, inference_precision: str, threads: int) -> float:
    """Operations/s of OpenVINO's CPU plugin on a square MatMul graph (matmul_graph or
    int8_matmul_graph), computing in `inference_precision` (f32 or bf16) where it is not INT8."""
    import openvino

    core = openvino.Core()
    config = {"INFERENCE_PRECISION_HINT": inference_precision, "INFERENCE_NUM_THREADS": threads, "PERFORMANCE_HINT": "LATENCY"}
    compiled = core.compile_model(core.read_model(graph, b""), "CPU", config)
    request = compiled.create_infer_request()
    rng = np.random.default_rng(0)
    feeds = {port.get_any_name(): rng.standard_normal(tuple(port.get_shape()), dtype=np.float32) for port in compiled.inputs}
    size = int(compiled.inputs[0].get_shape()[0])
    return 2 * size**3 / _best_host_seconds(lambda: request.infer(feeds, share_inputs=True))


def peak_for(label: str, precision: str, on_gpu: bool, peaks: dict[str, float]) -> tuple[str, float] | None:
    """(name, FLOP/s) of the peak an image encoder run by backend `label` is judged against: for FP32
    on a CPU the best FP32 peak measured; None when there is none (no fast path, not measured)."""
    key = peak_key(label.split(":")[0], precision, on_gpu)
    if key is None:
        return None
    if key.endswith(":fp32") and not on_gpu:
        measured = [name for name in ("onnxruntime:fp32", "torch:fp32", "openvino:fp32") if name in peaks]
        key = max(measured, key=lambda name: peaks[name]) if measured else key
    return (key, peaks[key]) if key in peaks else None


def roof_for(label: str, precision: str, on_gpu: bool, compute: dict[str, Any]) -> tuple[str, float] | None:
    """(name, FLOP/s) of the roof the image encoder of backend `label` is judged against: its
    precision's peak (peak_for), or for an INT8 graph on a CPU whose split is known, the rate at which
    its integer part at the INT8 peak and its float part at the float rest's peak would run together."""
    peaks = compute["matmul_peaks"]
    peak = peak_for(label, precision, on_gpu, peaks)
    arithmetic = compute.get("int8_encoder_arithmetic")
    if peak is None or precision != "int8" or on_gpu or not arithmetic:
        return peak
    rest_key = float_rest_key(label.split(":")[0])
    rest = peak_for(rest_key, rest_key.split(":")[1], False, peaks)
    if rest is None:
        return peak
    integer_share = arithmetic["integer"] / (arithmetic["integer"] + arithmetic["float"])
    seconds_per_flop = integer_share / peak[1] + (1 - integer_share) / rest[1]
    return f"{peak[0]} for {100 * integer_share:.0f}% of the FLOPs, {rest[0]} for the rest", 1 / seconds_per_flop


def _best_host_seconds(run: Callable[[], object]) -> float:
    run()
    times: list[float] = []
    while len(times) < REPEATS and sum(times) < PEAK_SECONDS:
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
