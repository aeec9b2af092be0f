"""Which arithmetic an ONNX stage graph runs: its matmul and convolution FLOPs, split into those an
engine runs as integer kernels and those it runs in floating point.

An INT8 graph of ours is not all INT8: in the image encoder, Q x K^T of every attention and the
relative-position products stay float (the logits' range, docs/int8.md), about 12% of the FLOPs at
the paper's sizes. The roof such a graph can reach is the time of each part at its own matmul
peak (compute_peak), so the speed benchmark needs the split, read from the graph the engine runs
rather than assumed.

A node counts as integer when every operand it multiplies comes out of a DequantizeLinear (the
Q/DQ pattern of static INT8, which engines fuse into one integer kernel) or when it is itself an
integer product (MatMulInteger, what dynamic INT8 writes). Shapes come from ONNX shape inference with the
dynamic batch set to the batch asked for; the graphs' other axes are fixed at export.
"""

from __future__ import annotations

import math
from pathlib import Path

from haris.errors import HarisError

INTEGER_OPS = ("MatMulInteger",)
MULTIPLYING_OPS = ("MatMul", "Gemm", "Conv", "Einsum", *INTEGER_OPS)


def arithmetic_by_kind(graph: str | Path, batch: int = 1) -> dict[str, int]:
    """{"integer": FLOPs, "float": FLOPs} of one pass of `batch` through the graph at `graph`
    (a multiply-add counts 2; elementwise work is not counted, as in compute_peak.encoder_flops)."""
    import onnx

    model = onnx.load(str(graph), load_external_data=False)  # shapes only: initializers' dims are in the proto
    for tensor in model.graph.input:
        for dim in tensor.type.tensor_type.shape.dim:
            if dim.HasField("dim_param"):
                dim.dim_value = batch
    shapes = _inferred_shapes(onnx.shape_inference.infer_shapes(model, data_prop=True))
    producers = {output: node.op_type for node in model.graph.node for output in node.output}
    totals = {"integer": 0, "float": 0}
    for node in model.graph.node:
        if node.op_type not in MULTIPLYING_OPS:
            continue
        dequantized = all(producers.get(name) == "DequantizeLinear" for name in node.input[:2])
        kind = "integer" if dequantized or node.op_type in INTEGER_OPS else "float"
        totals[kind] += _node_flops(node, shapes, graph)
    return totals


def _inferred_shapes(model) -> dict[str, list[int | None]]:
    """{tensor name: dims} of every tensor shape inference could size, initializers included."""
    shapes: dict[str, list[int | None]] = {tensor.name: list(tensor.dims) for tensor in model.graph.initializer}
    for value in (*model.graph.value_info, *model.graph.input, *model.graph.output):
        dims = value.type.tensor_type.shape.dim
        shapes[value.name] = [dim.dim_value if dim.HasField("dim_value") else None for dim in dims]
    return shapes


def _node_flops(node, shapes: dict[str, list[int | None]], graph: str | Path) -> int:
    """FLOPs of one MatMul, MatMulInteger, Gemm, Conv or Einsum node from its operand and output shapes."""
    needed = [*node.input[:2], node.output[0]]
    dims = [shapes.get(name) for name in needed]
    if any(not shape or None in shape for shape in dims):
        raise HarisError(f"{graph}: shape inference could not size the operands of {node.op_type} node {node.name!r}")
    left, right, output = dims
    if node.op_type in ("MatMul", "MatMulInteger"):
        return 2 * math.prod(output) * left[-1]
    if node.op_type == "Gemm":
        transposed = any(attribute.name == "transA" and attribute.i for attribute in node.attribute)
        return 2 * math.prod(output) * (left[0] if transposed else left[1])
    if node.op_type == "Conv":
        return 2 * math.prod(output) * math.prod(right[1:])  # the weight's dims past the first: C_in / groups x kernel
    return 2 * math.prod(_einsum_sizes(node, left, right).values())


def _einsum_sizes(node, left: list[int], right: list[int]) -> dict[str, int]:
    """{subscript: size} of a two-operand Einsum: its FLOPs are twice the product of every size."""
    equation = next(attribute.s.decode() for attribute in node.attribute if attribute.name == "equation")
    left_letters, right_letters = equation.replace(" ", "").split("->")[0].split(",")
    return dict(zip(left_letters, left)) | dict(zip(right_letters, right))
