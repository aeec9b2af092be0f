"""Planted faults in exported graphs: one initializer scaled, so the nodes reading it compute wrong."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import onnx
from onnx import numpy_helper

from haris.file_digest import file_sha256


def scale_initializer(source: Path, target: Path, name: str, factor: float) -> Path:
    """`source` saved to `target` with the initializer `name` multiplied by `factor` (in its own dtype)."""
    model = onnx.load(source)
    (tensor,) = [tensor for tensor in model.graph.initializer if tensor.name == name]
    values = numpy_helper.to_array(tensor)
    tensor.CopyFrom(numpy_helper.from_array((values * factor).astype(values.dtype), name))
    onnx.save(model, target)
    return target


def perturbed_bundle(bundle: Path, out: Path, graph: tuple[str, str], weight: str, factor: float) -> Path:
    """A copy of `bundle` whose (stage, precision) `graph` has `weight` scaled by `factor`, its
    manifest hash rewritten so the bundle still opens: only the numbers can tell."""
    copy = Path(shutil.copytree(bundle, out))
    stage, precision = graph
    graph_path = scale_initializer(copy / f"{stage}.{precision}.onnx", copy / f"{stage}.{precision}.onnx", weight, factor)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["graphs"][precision][stage]["sha256"] = file_sha256(graph_path)
    (copy / "manifest.json").write_text(json.dumps(manifest))
    return copy


def readers(graph: Path, tensor: str) -> list[onnx.NodeProto]:
    """The nodes of `graph` that read `tensor`."""
    return [node for node in onnx.load(graph).graph.node if tensor in node.input]
