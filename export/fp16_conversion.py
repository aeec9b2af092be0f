"""FP16 graphs with FP32 islands (docs/export.md, FP16 graphs).

onnxconverter-common's float16 converter turns every float tensor to FP16 except the nodes on its
block lists, inserting Casts at the borders; inputs and outputs stay FP32. Kept FP32, because they
are where ViTs overflow or lose the most in FP16:
- LayerNormalization (the variance of large activations) and the ops of hand-written norms
  (ReduceMean, Pow, Sqrt; SAM's LayerNorm2d is written that way);
- Softmax, and the attention logits feeding it: the q @ k^T MatMul, SAM's relative-position
  Einsums and every elementwise op between them and the Softmax (scale, bias, mask fill).
"""

from __future__ import annotations

import warnings

import onnx
from onnxconverter_common import float16

FP32_OP_TYPES = ("LayerNormalization", "Softmax", "ReduceMean", "Pow", "Sqrt")
LOGIT_PRODUCERS = {"MatMul", "Einsum", "Gemm"}
# Ops that carry the logits from their producers to the Softmax without changing what they mean.
LOGIT_PATH_OPS = {"Add", "Sub", "Mul", "Div", "Where", "Reshape", "Transpose", "Unsqueeze", "Squeeze", "Expand", "Slice", "Concat", "Cast"}
MAX_LOGIT_PATH = 12  # nodes walked back from a Softmax; attention needs fewer than 10


def convert_to_fp16(model: onnx.ModelProto) -> onnx.ModelProto:
    """An FP16 copy of `model` with the FP32 islands above and FP32 inputs and outputs."""
    model = name_unnamed_nodes(onnx.ModelProto.FromString(model.SerializeToString()))
    isolate_graph_outputs(model)
    # Inferred FP32 types left in value_info would contradict the converted nodes: infer afresh.
    model.graph.ClearField("value_info")
    with warnings.catch_warnings():  # one warning per tiny weight clamped to FP16's range: noise
        warnings.filterwarnings("ignore", message=".*will be truncated to", category=UserWarning)
        converted = float16.convert_float_to_float16(
            model,
            keep_io_types=True,
            op_block_list=[*float16.DEFAULT_OP_BLOCK_LIST, *FP32_OP_TYPES],
            node_block_list=sorted(attention_logit_nodes(model) | casts_to_float(model)),
        )
    restore_fp32_outputs(converted)
    converted.graph.ClearField("value_info")
    return onnx.shape_inference.infer_shapes(converted, check_type=True, strict_mode=True)


def restore_fp32_outputs(model: onnx.ModelProto) -> None:
    """Make every graph output FP32 again. keep_io_types misses an output made by a blocked (FP32)
    node, such as the decoder's last bilinear Resize: the converter casts it to FP16 after the node
    and declares the output FP16. That Cast becomes a cast to FP32 (a no-op on FP32 input)."""
    producer = {output: node for node in model.graph.node for output in node.output}
    for output in model.graph.output:
        tensor_type = output.type.tensor_type
        if tensor_type.elem_type != onnx.TensorProto.FLOAT16:
            continue
        node = producer[output.name]
        if node.op_type == "Cast":
            next(attribute for attribute in node.attribute if attribute.name == "to").i = onnx.TensorProto.FLOAT
        else:
            internal = f"{output.name}_fp16"
            node.output[:] = [internal if name == output.name else name for name in node.output]
            model.graph.node.append(
                onnx.helper.make_node("Cast", [internal], [output.name], to=onnx.TensorProto.FLOAT, name=f"{output.name}_to_fp32")
            )
        tensor_type.elem_type = onnx.TensorProto.FLOAT


def attention_logit_nodes(model: onnx.ModelProto) -> set[str]:
    """Names of the nodes computing each Softmax's input, back to (and including) its MatMuls."""
    producer = {output: node for node in model.graph.node for output in node.output}
    island: set[str] = set()
    for softmax in (node for node in model.graph.node if node.op_type == "Softmax"):
        island |= _logit_path(producer, softmax)
    return island


def _logit_path(producer: dict[str, onnx.NodeProto], softmax: onnx.NodeProto) -> set[str]:
    path: set[str] = set()
    frontier = [producer[name] for name in softmax.input[:1] if name in producer]
    while frontier and len(path) < MAX_LOGIT_PATH:
        node = frontier.pop()
        if node.name in path or node.op_type not in LOGIT_PATH_OPS | LOGIT_PRODUCERS:
            continue
        path.add(node.name)
        if node.op_type not in LOGIT_PRODUCERS:  # stop at the matmul: its operands are q and k
            frontier += [producer[name] for name in node.input if name in producer]
    return path


def casts_to_float(model: onnx.ModelProto) -> set[str]:
    """Casts that make FP32 from bool or int (masks): the converter leaves their output FP32 for
    FP16 consumers; blocked, they get a Cast to FP16 after them like every other island."""
    return {
        node.name
        for node in model.graph.node
        if node.op_type == "Cast" and any(a.name == "to" and a.i == onnx.TensorProto.FLOAT for a in node.attribute)
    }


def isolate_graph_outputs(model: onnx.ModelProto) -> None:
    """Give each graph output that nodes also read its own Identity. The converter casts an output
    back to FP32 in place, so nodes reading it would get FP32 where they were made FP16."""
    graph = model.graph
    outputs = {output.name for output in graph.output}
    read = {name for node in graph.node for name in node.input}
    for name in outputs & read:
        internal = f"{name}_internal"
        for node in graph.node:
            node.output[:] = [internal if output == name else output for output in node.output]
            node.input[:] = [internal if value == name else value for value in node.input]
        graph.node.append(onnx.helper.make_node("Identity", [internal], [name], name=f"{name}_output"))


def name_unnamed_nodes(model: onnx.ModelProto) -> onnx.ModelProto:
    """The block list names nodes; give every unnamed one a unique name first."""
    for index, node in enumerate(model.graph.node):
        if not node.name:
            node.name = f"{node.op_type}_{index}"
    return model


def float32_island_violations(model: onnx.ModelProto) -> list[str]:
    """Nodes of the FP32 op types whose float inputs or outputs are not FP32 (empty when correct).

    Reads the types shape inference left in the graph (convert_to_fp16 returns it inferred, and the
    bundle keeps them); a tensor without a recorded type counts as a violation.
    """
    graph = model.graph
    types = {value.name: value.type.tensor_type.elem_type for value in (*graph.value_info, *graph.input, *graph.output)}
    violations = []
    for node in graph.node:
        if node.op_type in ("LayerNormalization", "Softmax"):
            tensors = [node.input[0], node.output[0]]
            if any(types.get(name) != onnx.TensorProto.FLOAT for name in tensors):
                violations.append(f"{node.op_type} {node.name}")
    return violations
