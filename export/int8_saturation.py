"""INT8 nodes whose integer kernel gives other results on x86 CPUs without VNNI: found before writing.

onnxruntime fuses each Q/DQ MatMul, Conv or Gemm into an integer kernel. On x86 it first moves an
int8 activation to uint8 (zero point 128) where the quantized tensor has a single consumer, so most
products are u8 x s8. On CPUs without VNNI (AVX2 only, or AVX-512 without VNNI) that kernel adds
each pair of u8 x s8 products in 16 bits (vpmaddubsw), which saturates past 32767; VNNI's dot
product (vpdpbusd) does not. Weights use 7 bits (reduce_range), and 255 * 64 * 2 = 32640 fits, so a
constant B never saturates. A product of two activations whose B operand stays int8 has full-range
B values: on AVX2 its result is clipped, on VNNI exact, and the same bundle answers differently on
the two CPU classes. Such nodes are kept float (u8 x u8 and s8 x s8 kernels are exact everywhere).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import onnx
import onnxruntime
from onnx import numpy_helper

from haris.runtime.onnxruntime_session import DISABLED_OPTIMIZERS

# Fused op -> input positions of (A's zero point, B, B's zero point); A's zero point None: A is
# quantized to uint8 inside the kernel (dynamic quantization).
FUSED_OPERANDS: dict[str, tuple[int | None, int, int]] = {
    "QLinearMatMul": (2, 3, 5),
    "QLinearConv": (2, 3, 5),
    "QGemm": (2, 3, 5),
    "MatMulIntegerToFloat": (4, 1, 5),
    "MatMulInteger": (2, 1, 3),
    "DynamicQuantizeMatMul": (None, 1, 3),
}
SAFE_B_MAGNITUDE = 64  # |B| up to this: a u8 x s8 pair sum stays within int16


def saturating_nodes(model: onnx.ModelProto) -> list[str]:
    """Names of the nodes of the Q/DQ graph `model` that onnxruntime runs as a u8 x s8 integer
    kernel whose B operand may exceed 7 bits: those that saturate on CPUs without VNNI."""
    fused = _optimized(model)
    constants = {tensor.name: numpy_helper.to_array(tensor) for tensor in fused.graph.initializer}
    original = {node.name for node in model.graph.node}
    found = []
    for node in fused.graph.node:
        operands = FUSED_OPERANDS.get(node.op_type)
        if operands and _is_u8_times_wide_s8(node, operands, constants):
            found.append(node.name if node.name in original else _source_node(node, model))
    return sorted(name for name in found if name)


def _is_u8_times_wide_s8(node: onnx.NodeProto, operands: tuple[int | None, int, int], constants: dict[str, np.ndarray]) -> bool:
    a_zero, b, b_zero = operands
    a_type = "uint8" if a_zero is None else _operand_type(node, a_zero, constants)
    b_type = str(constants[node.input[b]].dtype) if node.input[b] in constants else _operand_type(node, b_zero, constants)
    if a_type != "uint8" or b_type != "int8":
        return False
    return node.input[b] not in constants or int(np.abs(constants[node.input[b]].astype(np.int32)).max()) > SAFE_B_MAGNITUDE


def _operand_type(node: onnx.NodeProto, zero_point: int, constants: dict[str, np.ndarray]) -> str:
    """The integer type of an operand, read from its zero point (uint8, ONNX's default, where none is given)."""
    if zero_point < len(node.input) and node.input[zero_point] in constants:
        return str(constants[node.input[zero_point]].dtype)
    return "uint8"


def _source_node(fused: onnx.NodeProto, model: onnx.ModelProto) -> str:
    """The MatMul/Conv/Gemm of `model` whose output a fused node (renamed by onnxruntime) computes."""
    by_output = {output: node.name for node in model.graph.node for output in node.output}
    return next((by_output[output] for output in fused.output if output in by_output), "")


def _optimized(model: onnx.ModelProto) -> onnx.ModelProto:
    """`model` as onnxruntime's CPU provider runs it, its Q/DQ pairs fused (ORT_ENABLE_ALL)."""
    with tempfile.TemporaryDirectory(prefix="haris-int8-fused-") as folder:
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.optimized_model_filepath = str(Path(folder, "fused.onnx"))
        onnxruntime.InferenceSession(
            model.SerializeToString(), options, providers=["CPUExecutionProvider"], disabled_optimizers=list(DISABLED_OPTIMIZERS)
        )
        return onnx.load(options.optimized_model_filepath)
