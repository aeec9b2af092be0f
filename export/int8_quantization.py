"""INT8 graphs: explicit Q/DQ ONNX calibrated on images, with the numerically sensitive ops left in float.

onnxruntime.quantization (in our dependency set, and kept current with onnx and onnxruntime) writes
the graphs: static quantization in QDQ form, weights INT8 per output channel and symmetric,
activations INT8 symmetric (zero point 0, which TensorRT's explicit quantization requires), so one
graph runs under onnxruntime's CPU provider and builds as a strongly typed TensorRT engine. NVIDIA's
ModelOpt was not chosen: it pins older onnx and onnxruntime-gpu than this project runs.

What stays float (recorded in the manifest): every op but MatMul, Conv and Gemm (LayerNorm, Softmax,
GELU, the residual adds), and the attention-logit products (q k^T and what lies between them and
their Softmax): the logits' range grows with the text and the image, and a static scale clips them.

Calibration feeds the images one at a time, and the MinMax calibrator reduces every calibrated tensor
to its min and max inside the graph, so what it keeps grows by two scalars per tensor and image. (Its
`CalibMaxIntermediateOutputs` option is not used: in onnxruntime 1.32 it drops the collected ranges
instead of folding them, and calibration then fails with "No data is collected".)

Dynamic quantization (MatMul weights only, activations quantized per call) is the alternative
(`method="dynamic"`): no calibration, onnxruntime only (TensorRT does not take its integer MatMuls).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime
from onnxruntime.quantization import CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType, quantize_dynamic, quantize_static

from haris.errors import ExportError
from haris.export.fp16_conversion import attention_logit_nodes, name_unnamed_nodes

METHODS = ("static", "dynamic")
QUANTIZED_OP_TYPES = ("MatMul", "Conv", "Gemm")


def quantization_record(method: str) -> dict[str, Any]:
    """What the manifest says of how the INT8 graphs were made."""
    static = method == "static"
    return {
        "method": method,
        "library": f"onnxruntime.quantization {onnxruntime.__version__}",
        "format": "QDQ (QuantizeLinear / DequantizeLinear)" if static else "dynamic (DynamicQuantizeLinear, MatMulInteger)",
        "weights": "int8, symmetric, per output channel",
        "activations": "int8, symmetric, min/max over the calibration images" if static else "uint8, quantized per call",
        "quantized_op_types": list(QUANTIZED_OP_TYPES) if static else ["MatMul"],
        "float_ops": "every other op type (LayerNormalization, Softmax, GELU, residual adds, resizes) and the attention logits",
    }


class _Feeds(CalibrationDataReader):
    def __init__(self, feeds: list[dict[str, np.ndarray]]) -> None:
        self._feeds = iter(feeds)

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self._feeds, None)


def quantize_graph(fp32: onnx.ModelProto, name: str, feeds: list[dict[str, np.ndarray]], method: str) -> tuple[onnx.ModelProto, list[str]]:
    """The INT8 graph of `fp32` (calibrated on `feeds` when static), and the nodes kept float by name."""
    if method not in METHODS:
        raise ExportError(f"INT8 method must be one of {', '.join(METHODS)}, got {method!r}")
    model = name_unnamed_nodes(onnx.ModelProto.FromString(fp32.SerializeToString()))
    excluded = sorted(attention_logit_nodes(model))
    with tempfile.TemporaryDirectory(prefix=f"haris-int8-{name}-") as folder:
        source, target = Path(folder, "fp32.onnx"), Path(folder, "int8.onnx")
        onnx.save(model, source)
        if method == "static":
            if not feeds:
                raise ExportError(f"static INT8 quantization of {name} needs calibration inputs")
            quantize_static(
                source,
                target,
                _Feeds(feeds),
                quant_format=QuantFormat.QDQ,
                op_types_to_quantize=list(QUANTIZED_OP_TYPES),
                per_channel=True,
                activation_type=QuantType.QInt8,
                weight_type=QuantType.QInt8,
                nodes_to_exclude=excluded,
                calibrate_method=CalibrationMethod.MinMax,
                extra_options={"ActivationSymmetric": True, "WeightSymmetric": True},
            )
        else:
            quantize_dynamic(
                source, target, op_types_to_quantize=["MatMul"], per_channel=True, weight_type=QuantType.QInt8, nodes_to_exclude=excluded
            )
        return onnx.load(target), excluded
