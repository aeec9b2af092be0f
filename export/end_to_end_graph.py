"""The end-to-end graph ("haris"), composed from the four stage graphs instead of traced again.

`Haris.forward` is the four stage methods chained by the contract's tensor names, and the stage
graphs carry exactly those names at their boundaries, so joining them gives the whole model's graph.
Tracing it again was a large share of an export (the dynamo exporter's fixed cost per trace
dominates; docs/measurements.md) and could only repeat what the stages already hold. Every name inside a
stage is prefixed with the stage's, so two stages' internal tensors never collide; the composed
graph then passes the same checks as a traced one (onnx.checker, strict shape inference, and the
export's comparison with eager).
"""

from __future__ import annotations

from collections.abc import Mapping

import onnx
from onnx import helper

from haris.errors import ExportError
from haris.export.onnx_graph_export import checked_model
from haris.runtime.tensor_contract import END_TO_END, STAGE_INPUTS, STAGE_OUTPUTS, STAGES

BOUNDARY_TENSORS = frozenset(name for stage in STAGES for name in (*STAGE_INPUTS[stage], *STAGE_OUTPUTS[stage]))


def compose_end_to_end(stage_graphs: Mapping[str, onnx.ModelProto]) -> onnx.ModelProto:
    """One graph from image and text_tokens to mask_logits, made of the stage graphs' nodes."""
    missing = [stage for stage in STAGES if stage not in stage_graphs]
    if missing:
        raise ExportError(f"the end-to-end graph needs every stage graph; missing {', '.join(missing)}")
    nodes: list[onnx.NodeProto] = []
    initializers: list[onnx.TensorProto] = []
    for stage in STAGES:
        graph = stage_graphs[stage].graph
        if graph.sparse_initializer or stage_graphs[stage].functions:
            raise ExportError(f"the {stage} graph has sparse initializers or local functions, which composing does not carry")
        nodes.extend(_prefixed_node(node, stage) for node in graph.node)
        initializers.extend(_prefixed_initializer(tensor, stage) for tensor in graph.initializer)
    image_input = _graph_value(stage_graphs["image_encoder"].graph.input, "image")
    text_input = _graph_value(stage_graphs["text_encoder"].graph.input, "text_tokens")
    output = _graph_value(stage_graphs["decoder"].graph.output, "mask_logits")
    graph = helper.make_graph(nodes, END_TO_END, [image_input, text_input], [output], initializer=initializers)
    first = stage_graphs[STAGES[0]]
    model = helper.make_model(graph, opset_imports=list(first.opset_import), producer_name="haris export (composed stages)")
    model.ir_version = first.ir_version
    return checked_model(model, END_TO_END)


def _renamed(name: str, stage: str) -> str:
    return name if not name or name in BOUNDARY_TENSORS else f"{stage}/{name}"


def _prefixed_node(node: onnx.NodeProto, stage: str) -> onnx.NodeProto:
    renamed = onnx.NodeProto()
    renamed.CopyFrom(node)
    renamed.name = f"{stage}/{node.name}"
    renamed.input[:] = [_renamed(name, stage) for name in node.input]
    renamed.output[:] = [_renamed(name, stage) for name in node.output]
    return renamed


def _prefixed_initializer(tensor: onnx.TensorProto, stage: str) -> onnx.TensorProto:
    renamed = onnx.TensorProto()
    renamed.CopyFrom(tensor)
    renamed.name = _renamed(tensor.name, stage)
    return renamed


def _graph_value(values, name: str) -> onnx.ValueInfoProto:
    for value in values:
        if value.name == name:
            return value
    raise ExportError(f"a stage graph lacks its contract tensor {name!r}")
