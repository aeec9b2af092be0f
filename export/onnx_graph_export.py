"""Tracing one stage into an ONNX graph with the contract's names and dynamic axes.

The exporter is torch's dynamo exporter (`torch.onnx.export(dynamo=True)`), chosen on purpose:
- it keeps the text length dynamic through open_clip's nn.MultiheadAttention, where the TorchScript
  exporter bakes the traced length into a Reshape, so other lengths fail in onnxruntime;
- its graphs are what onnxconverter-common's FP16 conversion accepts as they are (the raw
  TorchScript export of SAM gives an FP16 graph onnxruntime refuses to load);
- it is the faster of the two exporters on SAM ViT-B (docs/measurements.md).
Opset 18: LayerNormalization is one node (>= 17) and every TensorRT 10 parser reads it.
The graph is then simplified with onnxslim and must pass onnx.checker with full shape inference.
"""

from __future__ import annotations

import contextlib
import io
import warnings
from pathlib import Path

import onnx
import onnxslim
import torch

from haris.errors import ExportError
from haris.export.check_samples import CheckSample
from haris.export.stage_adapter import StageAdapter
from haris.runtime.tensor_contract import DYNAMIC_DIMS, STAGE_INPUTS, STAGE_OUTPUTS

OPSET = 18


def export_stage_graph(adapter: StageAdapter, sample: CheckSample, dynamic_axes: dict[str, tuple[int, int]]) -> onnx.ModelProto:
    """Trace `adapter` on `sample`, simplify, check; the dims named N, B, L stay dynamic."""
    stage = adapter.stage
    names = STAGE_INPUTS[stage]
    dims = {axis: torch.export.Dim(axis, min=low, max=high) for axis, (low, high) in dynamic_axes.items()}
    dynamic_shapes = tuple({dim: dims[axis] for dim, axis in DYNAMIC_DIMS[name].items()} for name in names)
    log = io.StringIO()
    try:
        with contextlib.redirect_stdout(log), warnings.catch_warnings():  # the exporter narrates; keep ours clean
            warnings.filterwarnings("ignore", message=".*axis name.*will not be used", category=UserWarning)
            program = torch.onnx.export(
                adapter.eval(),
                tuple(sample.inputs[name] for name in names),
                dynamo=True,
                opset_version=OPSET,
                input_names=list(names),
                output_names=list(STAGE_OUTPUTS[stage]),
                dynamic_shapes=(dynamic_shapes,),
                optimize=True,
                verbose=False,  # one spec per *inputs
            )
    except Exception as error:  # the exporter raises many types; one line names the stage
        raise ExportError(f"exporting {stage} failed: {exporter_reason(error)}") from error
    model = onnxslim.slim(program.model_proto)
    return checked_model(model, stage)


def exporter_reason(error: Exception) -> str:
    """The exporter's own summary line of what went wrong (its first lines are generic advice)."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    if "## Exception summary" in lines:
        return lines[lines.index("## Exception summary") + 1]
    return f"{type(error).__name__}: {lines[0] if lines else ''}"


def checked_model(model: onnx.ModelProto, stage: str) -> onnx.ModelProto:
    """onnx.checker with strict shape inference, then the inferred shapes kept in the graph."""
    try:
        onnx.checker.check_model(model, full_check=True)
    except (onnx.checker.ValidationError, onnx.shape_inference.InferenceError) as error:
        raise ExportError(f"the {stage} graph fails onnx.checker: {str(error).splitlines()[0]}") from None
    return onnx.shape_inference.infer_shapes(model, check_type=True, strict_mode=True)


def save_model(model: onnx.ModelProto, path: Path) -> None:
    if model.ByteSize() >= onnx.checker.MAXIMUM_PROTOBUF:
        raise ExportError(f"{path.name} would exceed protobuf's 2 GB; graphs this large (ViT-H FP32) are not supported yet")
    onnx.save_model(model, str(path))
