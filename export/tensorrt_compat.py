"""Will TensorRT take this ONNX graph? A check that runs on the CPU, before any TensorRT build.

Findings, each a TensorRTCompatFinding:
- `unsupported_op`: an op TensorRT 10's ONNX parser has no importer for (or an op of a custom
  domain that is no model-local function).
- `data_dependent_shape`: an op whose output shape depends on tensor values (NonZero, Unique, ...).
  TensorRT 10 runs some of them, but only with an output allocator; the runtime here allocates
  every output once at the profile's maximum shape, and such ops also block TensorRT's fusions.
- `boundary_dtype`: an int64 or double tensor among the graph's inputs and outputs. The stage
  boundaries are int32, bool and float32 by contract (TENSOR_DTYPES); int64 costs a cast on every
  call and double does not exist in TensorRT.
- `type_error`: ONNX type inference finds mixed operand types (say FP16 x FP32 in a Mul). ONNX
  Runtime may still run such a graph; TensorRT's strongly typed parser refuses it.
- `opset`: the default-domain opset is outside what the parser reads.
Subgraphs (If, Loop, Scan bodies) and model-local functions are checked like the main graph.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import onnx

# The ops marked supported ("Y") in onnx-tensorrt's docs/operators.md for TensorRT 10.15,
# github.com/onnx/onnx-tensorrt/blob/main/docs/operators.md ("TensorRT 10.15 supports operators
# in the inclusive range of opset 9 to opset 24").
SUPPORTED_OPS = frozenset(
    [
        "Abs",
        "Acos",
        "Acosh",
        "Add",
        "And",
        "ArgMax",
        "ArgMin",
        "Asin",
        "Asinh",
        "Atan",
        "Atanh",
        "Attention",
        "AveragePool",
        "BatchNormalization",
        "BlackmanWindow",
        "Cast",
        "CastLike",
        "Ceil",
        "Celu",
        "Clip",
        "Concat",
        "Constant",
        "ConstantOfShape",
        "Conv",
        "ConvTranspose",
        "Cos",
        "Cosh",
        "CumSum",
        "DeformConv",
        "DepthToSpace",
        "DequantizeLinear",
        "Div",
        "Dropout",
        "Einsum",
        "Elu",
        "Equal",
        "Erf",
        "Exp",
        "Expand",
        "EyeLike",
        "Flatten",
        "Floor",
        "Gather",
        "GatherElements",
        "GatherND",
        "Gelu",
        "Gemm",
        "GlobalAveragePool",
        "GlobalLpPool",
        "GlobalMaxPool",
        "Greater",
        "GreaterOrEqual",
        "GridSample",
        "GroupNormalization",
        "GRU",
        "HammingWindow",
        "HannWindow",
        "HardSigmoid",
        "HardSwish",
        "Hardmax",
        "Identity",
        "If",
        "ImageScaler",
        "InstanceNormalization",
        "IsInf",
        "IsNaN",
        "LayerNormalization",
        "LeakyRelu",
        "Less",
        "LessOrEqual",
        "Log",
        "LogSoftmax",
        "Loop",
        "LRN",
        "LSTM",
        "LpNormalization",
        "LpPool",
        "MatMul",
        "Max",
        "MaxPool",
        "Mean",
        "MeanVarianceNormalization",
        "Min",
        "Mish",
        "Mod",
        "Mul",
        "Neg",
        "NonMaxSuppression",
        "NonZero",
        "Not",
        "OneHot",
        "Or",
        "Pad",
        "ParametricSoftplus",
        "Pow",
        "PRelu",
        "QuantizeLinear",
        "RandomNormal",
        "RandomNormalLike",
        "RandomUniform",
        "RandomUniformLike",
        "Range",
        "Reciprocal",
        "ReduceL1",
        "ReduceL2",
        "ReduceLogSum",
        "ReduceLogSumExp",
        "ReduceMax",
        "ReduceMean",
        "ReduceMin",
        "ReduceProd",
        "ReduceSum",
        "ReduceSumSquare",
        "Relu",
        "Reshape",
        "Resize",
        "ReverseSequence",
        "RMSNormalization",
        "RNN",
        "RoiAlign",
        "RotaryEmbedding",
        "Round",
        "STFT",
        "ScaledTanh",
        "Scan",
        "Scatter",
        "ScatterElements",
        "ScatterND",
        "Selu",
        "Shape",
        "Shrink",
        "Sigmoid",
        "Sign",
        "Sin",
        "Sinh",
        "Size",
        "Slice",
        "Softmax",
        "Softplus",
        "Softsign",
        "SpaceToDepth",
        "Split",
        "Sqrt",
        "Squeeze",
        "Sub",
        "Sum",
        "Tan",
        "Tanh",
        "TensorScatter",
        "ThresholdedRelu",
        "Tile",
        "TopK",
        "Transpose",
        "Trilu",
        "Unsqueeze",
        "Upsample",
        "Where",
        "Xor",
    ]
)
OPSET_RANGE = (9, 24)
DATA_DEPENDENT_OPS = frozenset({"NonZero", "NonMaxSuppression", "Unique", "Compress"})
BOUNDARY_DTYPES = {onnx.TensorProto.INT64: "int64", onnx.TensorProto.DOUBLE: "double"}
DEFAULT_DOMAINS = ("", "ai.onnx")


@dataclass(frozen=True)
class TensorRTCompatFinding:
    kind: str  # unsupported_op, data_dependent_shape, boundary_dtype, type_error, opset
    where: str  # the node, tensor or model concerned
    detail: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.where}: {self.detail}"


def check_tensorrt_compatibility(model: onnx.ModelProto) -> list[TensorRTCompatFinding]:
    """Everything in `model` TensorRT's ONNX parser would refuse or the runtime cannot run; [] if none."""
    functions = {(function.domain, function.name) for function in model.functions}
    findings = opset_findings(model) + boundary_findings(model.graph)
    for node in all_nodes(model):
        findings += node_findings(node, functions)
    return findings + type_findings(model)


def opset_findings(model: onnx.ModelProto) -> list[TensorRTCompatFinding]:
    low, high = OPSET_RANGE
    return [
        TensorRTCompatFinding("opset", "model", f"default-domain opset {entry.version} is outside {low}..{high}, what TensorRT 10's parser reads")
        for entry in model.opset_import
        if entry.domain in DEFAULT_DOMAINS and not low <= entry.version <= high
    ]


def boundary_findings(graph: onnx.GraphProto) -> list[TensorRTCompatFinding]:
    findings = []
    for kind, values in (("input", graph.input), ("output", graph.output)):
        for value in values:
            dtype = BOUNDARY_DTYPES.get(value.type.tensor_type.elem_type)
            if dtype:
                detail = f"{dtype} at a stage boundary; the contract uses int32, bool and float32"
                findings.append(TensorRTCompatFinding("boundary_dtype", f"{kind} {value.name}", detail))
    return findings


def all_nodes(model: onnx.ModelProto) -> Iterator[onnx.NodeProto]:
    """Every node of the main graph, its subgraphs and the model-local functions."""
    for function in model.functions:
        yield from _graph_nodes(function.node)
    yield from _graph_nodes(model.graph.node)


def _graph_nodes(nodes: list[onnx.NodeProto]) -> Iterator[onnx.NodeProto]:
    for node in nodes:
        yield node
        for attribute in node.attribute:
            if attribute.type == onnx.AttributeProto.GRAPH:
                yield from _graph_nodes(attribute.g.node)
            elif attribute.type == onnx.AttributeProto.GRAPHS:
                for graph in attribute.graphs:
                    yield from _graph_nodes(graph.node)


def node_findings(node: onnx.NodeProto, functions: set[tuple[str, str]]) -> list[TensorRTCompatFinding]:
    where = f"node {node.name or '(unnamed)'} ({node.op_type})"
    if (node.domain, node.op_type) in functions:
        return []  # a model-local function: the parser inlines it, and its body is checked itself
    if node.domain not in DEFAULT_DOMAINS:
        return [TensorRTCompatFinding("unsupported_op", where, f"op of custom domain {node.domain!r}, which TensorRT has no importer for")]
    if node.op_type in DATA_DEPENDENT_OPS:
        return [TensorRTCompatFinding("data_dependent_shape", where, "its output shape depends on tensor values")]
    if node.op_type not in SUPPORTED_OPS:
        return [TensorRTCompatFinding("unsupported_op", where, "not supported by TensorRT 10's ONNX parser")]
    return []


def type_findings(model: onnx.ModelProto) -> list[TensorRTCompatFinding]:
    """ONNX's strict type inference: what TensorRT's strongly typed parser would refuse."""
    checked = onnx.ModelProto.FromString(model.SerializeToString())
    checked.graph.ClearField("value_info")  # infer afresh: stale annotations would hide or invent errors
    try:
        onnx.shape_inference.infer_shapes(checked, check_type=True, strict_mode=True)
    except (onnx.shape_inference.InferenceError, onnx.checker.ValidationError) as error:
        return [TensorRTCompatFinding("type_error", "model", str(error).strip().splitlines()[0])]
    return []


def format_findings(findings: list[TensorRTCompatFinding], graph: str = "graph") -> str:
    """A report for humans: one line per finding, or one line saying there are none."""
    if not findings:
        return f"{graph}: TensorRT-compatible (no findings)"
    lines = [f"{graph}: {len(findings)} TensorRT finding{'s' if len(findings) > 1 else ''}"]
    return "\n".join([*lines, *(f"  - {finding}" for finding in findings)])
