"""INT8 graphs: explicit Q/DQ ONNX calibrated on images, with chosen nodes left in float.

onnxruntime.quantization (in our dependency set, and kept current with onnx and onnxruntime) writes
the graphs: static quantization in QDQ form, weights INT8 per output channel and symmetric,
activations INT8 symmetric (zero point 0, which TensorRT's explicit quantization requires), so one
graph runs under onnxruntime's CPU provider and builds as a strongly typed TensorRT engine. Weights
use 7 of the 8 bits (`reduce_range`): on x86 CPUs without VNNI (AVX2 only, e.g. Zen 3) onnxruntime's
u8 x s8 kernel sums pairs of products in 16 bits, which saturates with full-range weights, so the
same bundle would give other results on those CPUs than on VNNI ones; with 7-bit weights it cannot. NVIDIA's
ModelOpt was not chosen: it pins older onnx and onnxruntime-gpu than this project runs.

Only MatMul, Conv and Gemm are quantized; every other op (LayerNorm, Softmax, GELU, the residual
adds) stays float, and so do the attention-logit products (q k^T): the logits' range grows with the
text and the image, and a static scale clips them. So do the nodes onnxruntime would run as a
u8 x s8 kernel on a full-range int8 operand (a product of two activations): on CPUs without VNNI
that kernel saturates, and the bundle would answer differently there (export/int8_saturation.py). Which of the other MatMul/Conv/Gemm nodes also
stay float is measured (export/int8_sensitivity.py).

Calibration runs once per graph (export/int8_ranges.py): its activation ranges are kept in
onnxruntime's calibration cache and every variant the sensitivity search tries reuses them. The
images are fed one at a time and every tensor is reduced to its min and max inside the graph, so
what calibration keeps grows by two scalars per tensor and image, not by whole activations.

Dynamic quantization (MatMul weights only, activations quantized per call) is the alternative
(`method="dynamic"`): no calibration, onnxruntime only (TensorRT does not take its integer MatMuls).
"""

from __future__ import annotations

import contextlib
import logging
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import onnx
from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_dynamic, quantize_static

from haris.errors import ExportError
from haris.export.fp16_conversion import attention_logit_nodes, name_unnamed_nodes
from haris.export.int8_ranges import write_activation_ranges
from haris.export.int8_saturation import saturating_nodes

METHODS = ("static", "dynamic")
QUANTIZED_OP_TYPES = ("MatMul", "Conv", "Gemm")


class GraphQuantizer:
    """One FP32 graph, calibrated once, quantized into as many variants as asked. A context manager:
    its working files live in a temporary folder until it closes."""

    def __init__(self, fp32: onnx.ModelProto, name: str, method: str, calibration_feeds: Sequence[dict[str, np.ndarray]]) -> None:
        if method not in METHODS:
            raise ExportError(f"INT8 method must be one of {', '.join(METHODS)}, got {method!r}")
        if method == "static" and not calibration_feeds:
            raise ExportError(f"static INT8 quantization of {name} needs calibration inputs")
        self.name, self.method = name, method
        self._folder = tempfile.TemporaryDirectory(prefix=f"haris-int8-{name}-")
        self.fp32_path = Path(self._folder.name, "fp32.onnx")
        self._ranges = Path(self._folder.name, "ranges.json")
        model = name_unnamed_nodes(onnx.ModelProto.FromString(fp32.SerializeToString()))
        onnx.save(model, self.fp32_path)
        if method == "static":
            write_activation_ranges(self.fp32_path, calibration_feeds, QUANTIZED_OP_TYPES, self._ranges)
        self.attention_logits = self.always_float = sorted(attention_logit_nodes(model))
        # Nodes whose integer kernel would answer differently on CPUs without VNNI (int8_saturation.py).
        self.saturating = saturating_nodes(self.quantize())
        self.always_float = sorted({*self.attention_logits, *self.saturating})
        always = set(self.always_float)
        op_types = QUANTIZED_OP_TYPES if method == "static" else ("MatMul",)
        self.candidates = [node.name for node in model.graph.node if node.op_type in op_types and node.name not in always]

    def quantize(self, float_nodes: Sequence[str] = (), only: Sequence[str] | None = None) -> onnx.ModelProto:
        """The INT8 graph with `float_nodes` (and the attention logits) left float; with `only`, just those nodes quantized."""
        target = Path(self._folder.name, "int8.onnx")
        excluded = sorted({*self.always_float, *float_nodes})
        with _quiet_root_logger():
            self._write(target, excluded, only)
        return onnx.load(target)

    def _write(self, target: Path, excluded: list[str], only: Sequence[str] | None) -> None:
        if self.method == "static":
            quantize_static(
                self.fp32_path,
                target,
                None,  # the activation ranges are read from the calibration cache, measured once
                quant_format=QuantFormat.QDQ,
                op_types_to_quantize=list(QUANTIZED_OP_TYPES),
                nodes_to_quantize=list(only) if only is not None else None,
                per_channel=True,
                reduce_range=True,
                activation_type=QuantType.QInt8,
                weight_type=QuantType.QInt8,
                nodes_to_exclude=excluded,
                calibrate_method=CalibrationMethod.MinMax,
                # Biases stay float: TensorRT dequantizes only 8-bit (and smaller) integers, not int32.
                extra_options={"ActivationSymmetric": True, "WeightSymmetric": True, "QuantizeBias": False},
                calibration_cache_path=self._ranges,
            )
        else:
            quantize_dynamic(
                self.fp32_path,
                target,
                op_types_to_quantize=["MatMul"],
                nodes_to_quantize=list(only) if only is not None else None,
                per_channel=True,
                reduce_range=True,
                weight_type=QuantType.QInt8,
                nodes_to_exclude=excluded,
            )

    def close(self) -> None:
        self._folder.cleanup()

    def __enter__(self) -> GraphQuantizer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


@contextlib.contextmanager
def _quiet_root_logger() -> Iterator[None]:
    """onnxruntime.quantization warns on the root logger at every call (that the graph was not
    pre-processed, which only matters to its shape inference); a search calls it dozens of times."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        yield
    finally:
        root.setLevel(level)
