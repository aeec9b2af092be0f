"""The CPU check of ONNX graphs against what TensorRT's parser and the runtime accept."""

from __future__ import annotations

import onnx
import pytest
from onnx import TensorProto, helper

from haris.export.tensorrt_compat import TensorRTCompatFinding, check_tensorrt_compatibility, format_findings
from haris.runtime.tensor_contract import GRAPHS


def model_of(nodes, inputs, outputs, opset=18, functions=()):
    graph = helper.make_graph(nodes, "g", inputs, outputs)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset), helper.make_opsetid("local", 1)], functions=list(functions))


def tensor(name, dtype=TensorProto.FLOAT, shape=(2, 3)):
    return helper.make_tensor_value_info(name, dtype, list(shape))


def kinds(findings):
    return [finding.kind for finding in findings]


@pytest.mark.parametrize("precision", ["fp32", "fp16"])
def test_the_tiny_bundle_graphs_pass(tiny_bundle, precision):
    for graph in GRAPHS:
        path = tiny_bundle / f"{graph}.{precision}.onnx"
        if path.is_file():  # the end-to-end graph is optional in a bundle
            findings = check_tensorrt_compatibility(onnx.load(path))
            assert findings == [], format_findings(findings, path.name)


def test_a_clean_graph_has_no_findings():
    model = model_of([helper.make_node("Relu", ["x"], ["y"], name="relu")], [tensor("x")], [tensor("y")])
    assert check_tensorrt_compatibility(model) == []
    assert format_findings([], "relu.onnx") == "relu.onnx: TensorRT-compatible (no findings)"


def test_nonzero_is_a_data_dependent_shape():
    nodes = [helper.make_node("NonZero", ["x"], ["i"], name="nz"), helper.make_node("Cast", ["i"], ["y"], name="cast", to=TensorProto.INT32)]
    model = model_of(nodes, [tensor("x")], [tensor("y", TensorProto.INT32, (2, "R"))])
    assert check_tensorrt_compatibility(model) == [
        TensorRTCompatFinding("data_dependent_shape", "node nz (NonZero)", "its output shape depends on tensor values")
    ]


def test_unsupported_and_custom_domain_ops_are_flagged():
    nodes = [helper.make_node("Det", ["x"], ["d"], name="det"), helper.make_node("FusedGemm", ["x", "x"], ["y"], name="fg", domain="com.microsoft")]
    model = model_of(nodes, [tensor("x", shape=(3, 3))], [tensor("d", shape=()), tensor("y", shape=(3, 3))])
    model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    findings = [finding for finding in check_tensorrt_compatibility(model) if finding.kind == "unsupported_op"]
    assert [finding.where for finding in findings] == ["node det (Det)", "node fg (FusedGemm)"]
    assert "custom domain 'com.microsoft'" in findings[1].detail


def test_int64_and_double_at_the_boundaries_are_flagged():
    nodes = [
        helper.make_node("Cast", ["x"], ["y"], name="cast", to=TensorProto.INT64),
        helper.make_node("Cast", ["x"], ["z"], name="wide", to=TensorProto.DOUBLE),
    ]
    model = model_of(nodes, [tensor("x")], [tensor("y", TensorProto.INT64), tensor("z", TensorProto.DOUBLE)])
    findings = check_tensorrt_compatibility(model)
    assert kinds(findings) == ["boundary_dtype", "boundary_dtype"]
    assert [finding.where for finding in findings] == ["output y", "output z"]


def test_mixed_operand_types_are_a_type_error():
    # What a half-converted FP16 graph looks like: a Mul of an FP16 and an FP32 tensor.
    nodes = [helper.make_node("Cast", ["x"], ["h"], name="to_half", to=TensorProto.FLOAT16), helper.make_node("Mul", ["h", "x"], ["y"], name="mixed")]
    model = model_of(nodes, [tensor("x")], [tensor("y", TensorProto.FLOAT16)])
    (finding,) = check_tensorrt_compatibility(model)
    assert finding.kind == "type_error" and "mixed" in finding.detail


def test_ops_inside_subgraphs_and_local_functions_are_checked():
    body = helper.make_graph([helper.make_node("Unique", ["x"], ["u"], name="inner")], "then", [], [tensor("u")])
    branch = helper.make_node("If", ["c"], ["y"], name="branch", then_branch=body, else_branch=body)
    function = helper.make_function(
        "local", "Twice", ["a"], ["b"], [helper.make_node("Det", ["a"], ["b"], name="in_function")], [helper.make_opsetid("", 18)]
    )
    call = helper.make_node("Twice", ["x"], ["z"], name="call", domain="local")
    model = model_of(
        [branch, call], [tensor("c", TensorProto.BOOL, ()), tensor("x", shape=(3, 3))], [tensor("y"), tensor("z", shape=())], functions=[function]
    )
    findings = [finding for finding in check_tensorrt_compatibility(model) if finding.kind != "type_error"]
    assert sorted(finding.where for finding in findings) == ["node in_function (Det)", "node inner (Unique)", "node inner (Unique)"]


def test_an_opset_outside_the_parser_range_is_flagged_and_formatted():
    model = model_of([helper.make_node("Relu", ["x"], ["y"], name="relu")], [tensor("x")], [tensor("y")], opset=7)
    findings = check_tensorrt_compatibility(model)
    assert kinds(findings) == ["opset"]
    assert (
        format_findings(findings, "old.onnx")
        == "old.onnx: 1 TensorRT finding\n  - opset: model: default-domain opset 7 is outside 9..24, what TensorRT 10's parser reads"
    )
