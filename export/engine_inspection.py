"""Which precision an engine's layers really run in, so an "fp16" engine is one.

Two readings, both recorded in the sidecar:
- `network_fp16_share`, on any machine: the share of the parsed network's float layers whose
  outputs are FP16. In a strongly typed network (every build here) TensorRT follows these types
  exactly, so this is what the engine computes in, before fusion.
- `fp16_share`, on a GPU: the same share over the built engine's fused layers, read back with the
  engine inspector (JSON layer information; needs ProfilingVerbosity.DETAILED at build time).
  Deserializing needs a GPU, also for TensorRT-RTX plans compiled ahead of time; without one it
  is null with the reason.
A layer counts when it outputs a float type (FP32, FP16, BF16); shape arithmetic (int, bool) does
not. An fp16 build with no FP16 layer at all is an error: its graph was not converted.
"""

from __future__ import annotations

import json
import re
from types import ModuleType
from typing import Any

from haris.errors import ExportError

# TensorRT 10 writes one "Format/Datatype" string per tensor ("Row major linear FP16 format");
# TensorRT 11 splits it into "Datatype" ("Half") and "Format" (its migration guide, IEngineInspector).
_TENSOR_TYPE_KEYS = ("Format/Datatype", "Datatype", "DataType")
_HALF = re.compile(r"\b(FP16|HALF)\b")
_FLOAT = re.compile(r"\b(FP32|FLOAT|FP16|HALF|BF16|BFLOAT16)\b")
NO_GPU_REASON = "no CUDA GPU on the build machine: the plan cannot be deserialized to read its layers"


def network_fp16_share(trt: ModuleType, network: Any) -> float | None:
    """FP16 share of the float layers of a parsed network (None when it has no float layer)."""
    float_types = {trt.DataType.FLOAT, trt.DataType.HALF, trt.DataType.BF16}
    float_layers = half_layers = 0
    for index in range(network.num_layers):
        layer = network.get_layer(index)
        types = {layer.get_output(output).dtype for output in range(layer.num_outputs)}
        if types & float_types:
            float_layers += 1
            half_layers += trt.DataType.HALF in types
    return half_layers / float_layers if float_layers else None


def engine_precisions(trt: ModuleType, plan: bytes, gpu: dict[str, str] | None) -> dict[str, Any]:
    """`fp16_share` of the built engine's layers, or null and `fp16_share_reason`."""
    if gpu is None:
        return {"fp16_share": None, "fp16_share_reason": NO_GPU_REASON}
    runtime = trt.Runtime(trt.Logger(trt.Logger.WARNING))
    engine = runtime.deserialize_cuda_engine(plan)
    if engine is None:
        return {"fp16_share": None, "fp16_share_reason": f"the plan does not deserialize on {gpu['name']}"}
    inspector = engine.create_engine_inspector()
    layers = json.loads(inspector.get_engine_information(trt.LayerInformationFormat.JSON)).get("Layers", [])
    share = layer_fp16_share(layers)
    if share is None:
        return {"fp16_share": None, "fp16_share_reason": "the inspector reports no layer output types (not built with DETAILED profiling?)"}
    return {"fp16_share": share, "engine_layers": len(layers)}


def layer_fp16_share(layers: list[Any]) -> float | None:
    """FP16 share of the float layers in the inspector's JSON "Layers" list."""
    float_layers = half_layers = 0
    for layer in layers:
        if not isinstance(layer, dict):  # LAYER_NAMES_ONLY verbosity lists bare names
            continue
        types = [tensor_type(output) for output in layer.get("Outputs", [])]
        if any(_FLOAT.search(text) for text in types):
            float_layers += 1
            half_layers += any(_HALF.search(text) for text in types)
    return half_layers / float_layers if float_layers else None


def tensor_type(tensor: dict[str, Any]) -> str:
    """The upper-cased type text of one inspector tensor entry, in TensorRT 10's or 11's keys."""
    return " ".join(str(tensor[key]) for key in _TENSOR_TYPE_KEYS if key in tensor).upper()


def require_fp16(stage: str, precision: str, facts: dict[str, Any]) -> None:
    """ExportError when an fp16 build has no FP16 layer (the engine's reading wins over the network's)."""
    if precision != "fp16":
        return
    share = facts.get("fp16_share")
    if share is None:
        share = facts.get("network_fp16_share")
    if not share:
        raise ExportError(
            f"the {stage} fp16 engine has no FP16 layers: its graph is not an FP16 graph (FP16 lives in the graph; TensorRT builds it strongly typed)"
        )
