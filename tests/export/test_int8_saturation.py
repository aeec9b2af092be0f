"""INT8 graphs answer the same on CPUs with and without VNNI: a product that onnxruntime would run as a
u8 x s8 kernel on a full-range operand (it saturates without VNNI) is found and kept float, and
weights (7-bit) never are."""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from haris.export.int8_quantization import GraphQuantizer
from haris.export.int8_saturation import saturating_nodes


def shared_operand_graph() -> onnx.ModelProto:
    """x @ w (a weight), h @ y and x @ y: y and x each feed two products, so onnxruntime keeps their
    int8 form (it moves to uint8 only a tensor with one consumer); h, with one, becomes uint8."""
    weight = numpy_helper.from_array(np.random.default_rng(0).standard_normal((8, 8)).astype(np.float32), "w")
    nodes = [
        helper.make_node("MatMul", ["x", "w"], ["h"], name="weight_product"),
        helper.make_node("MatMul", ["h", "y"], ["a"], name="activation_product"),
        helper.make_node("MatMul", ["x", "y"], ["b"], name="second_use_of_y"),
        helper.make_node("Add", ["a", "b"], ["out"], name="sum"),
    ]
    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4, 8]), helper.make_tensor_value_info("y", TensorProto.FLOAT, [8, 8])]
    graph = helper.make_graph(nodes, "shared_operand", inputs, [helper.make_tensor_value_info("out", TensorProto.FLOAT, [4, 8])], [weight])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 9
    return model


def calibration_feeds(count: int = 4) -> list[dict[str, np.ndarray]]:
    rng = np.random.default_rng(1)
    return [{"x": rng.standard_normal((4, 8)).astype(np.float32), "y": rng.standard_normal((8, 8)).astype(np.float32)} for _ in range(count)]


def test_the_u8_times_full_range_s8_product_is_found_and_kept_float():
    with GraphQuantizer(shared_operand_graph(), "shared", "static", calibration_feeds()) as quantizer:
        assert quantizer.saturating == ["activation_product"]
        assert "activation_product" not in quantizer.candidates and "weight_product" in quantizer.candidates
        graph = quantizer.quantize()
        assert saturating_nodes(graph) == []
        assert quantized_inputs(graph, "weight_product")  # the weight product still runs in INT8


def quantized_inputs(graph: onnx.ModelProto, name: str) -> bool:
    """Whether both inputs of node `name` come dequantized from INT8 (the node runs in INT8)."""
    producers = {output: node.op_type for node in graph.graph.node for output in node.output}
    node = next(node for node in graph.graph.node if node.name == name)
    return all(producers.get(value) == "DequantizeLinear" for value in node.input)


def test_7_bit_weights_are_never_flagged():
    with GraphQuantizer(shared_operand_graph(), "shared", "static", calibration_feeds()) as quantizer:
        assert saturating_nodes(quantizer.quantize(only=["weight_product"])) == []


def test_dynamic_quantization_uses_7_bit_weights_too():
    with GraphQuantizer(shared_operand_graph(), "shared", "dynamic", []) as quantizer:
        assert quantizer.saturating == []
        weights = [numpy_helper.to_array(tensor) for tensor in quantizer.quantize().graph.initializer if tensor.data_type == TensorProto.INT8]
        assert weights and max(int(np.abs(weight.astype(np.int32)).max()) for weight in weights) <= 64
