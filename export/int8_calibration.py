"""What an INT8 export is asked for (`haris export --precision int8 --calibration ...`), the
calibration it prepares once for every graph of the bundle, and what the manifest records of it."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime

from haris.cpu_features import cpu_features
from haris.errors import ExportError
from haris.export.calibration_set import calibration_items, stage_feeds
from haris.export.int8_quantization import QUANTIZED_OP_TYPES, GraphQuantizer
from haris.export.int8_saturation import saturating_nodes
from haris.export.int8_sensitivity import DEFAULT_TARGET_ERROR, choose_float_nodes
from haris.modeling.haris_model import Haris
from haris.runtime.tensor_contract import STAGES

DEFAULT_CALIBRATION_IMAGES = 16
# The image encoder holds nearly all of a CPU's time with few expressions, and quantizing only it kept
# mask parity near FP32 where quantizing every stage did not (docs/int8.md, "Which stages").
DEFAULT_STAGES = ("image_encoder",)
HELD_OUT_IMAGES = 2  # read beside the calibration images, never calibrated on: what float nodes are chosen by
# The `haris export` option of each Int8Request field: what a retry command repeats.
_CLI_OPTIONS = {
    "calibration": "--calibration",
    "images": "--calibration-images",
    "method": "--int8-method",
    "target_error": "--int8-target-error",
    "stages": "--int8-stages",
}


@dataclass(frozen=True)
class Int8Request:
    calibration: str | Path | None = None  # a dataset or image folder; None: synthetic scenes rendered in memory
    images: int = DEFAULT_CALIBRATION_IMAGES
    method: str = "static"  # or "dynamic": activations quantized per call, onnxruntime only
    target_error: float = DEFAULT_TARGET_ERROR  # relative output error per graph the float nodes are chosen for
    # The stages quantized; the others' INT8 graph is their FP32 graph (the file is shared, not copied).
    stages: tuple[str, ...] = DEFAULT_STAGES

    def __post_init__(self) -> None:
        unknown = [stage for stage in self.stages if stage not in STAGES]
        if unknown or not self.stages:
            raise ExportError(f"--int8-stages must name some of {', '.join(STAGES)}, got {', '.join(self.stages) or 'none'}")

    @property
    def float_stages(self) -> tuple[str, ...]:
        return tuple(stage for stage in STAGES if stage not in self.stages)

    def cli_options(self) -> list[str]:
        """The `haris export` options that ask for this request, those at their defaults left out."""
        default = Int8Request()
        changed = [item.name for item in fields(self) if getattr(self, item.name) != getattr(default, item.name)]
        return [word for name in changed for word in (_CLI_OPTIONS[name], _option_text(getattr(self, name)))]


@dataclass
class Int8Calibration:
    request: Int8Request
    calibration_feeds: dict[str, list[dict[str, np.ndarray]]]  # per graph, its inputs for each calibration image
    held_out_feeds: dict[str, list[dict[str, np.ndarray]]]
    graphs: dict[str, dict[str, Any]] = field(default_factory=dict)  # per graph, what was kept float and measured

    @classmethod
    def prepare(cls, model: Haris, request: Int8Request) -> Int8Calibration:
        """Read the calibration (static only) and held-out images and run them through the eager model."""
        calibrated = request.images if request.method == "static" else 0  # dynamic quantization calibrates nothing
        items = calibration_items(request.calibration, calibrated + HELD_OUT_IMAGES, model.config.image_size)
        # Only the stages to quantize keep their feeds: a float stage's inputs would be held for nothing.
        feeds = {name: stage for name, stage in stage_feeds(model, items).items() if name in request.stages}
        calibrate = {name: stage[:calibrated] for name, stage in feeds.items()} if calibrated else {}
        held_out = {name: stage[calibrated:] for name, stage in feeds.items()}
        return cls(request, calibrate, held_out)

    def quantize(self, fp32: onnx.ModelProto, name: str, progress: bool = False) -> onnx.ModelProto:
        with GraphQuantizer(fp32, name, self.request.method, self.calibration_feeds.get(name, [])) as quantizer:
            graph, sensitivity = choose_float_nodes(quantizer, self.held_out_feeds[name], self.request.target_error, progress)
            late = saturating_nodes(graph)  # a variant can fuse otherwise than the all-INT8 graph did
            if late:
                graph = quantizer.quantize([*sensitivity.float_nodes, *late])
                sensitivity.quantized_nodes -= len(set(late) - set(sensitivity.float_nodes))
            saturating = sorted({*quantizer.saturating, *late})
            self.graphs[name] = {"attention_logit_nodes": quantizer.attention_logits, "saturating_nodes": saturating, **sensitivity.to_dict()}
        return graph

    def record(self) -> dict[str, Any]:
        static = self.request.method == "static"
        source = str(Path(self.request.calibration).resolve()) if self.request.calibration else "synthetic scenes rendered in memory (seed 1)"
        return {
            "method": self.request.method,
            "library": f"onnxruntime.quantization {onnxruntime.__version__}",
            "format": "QDQ (QuantizeLinear / DequantizeLinear)" if static else "dynamic (DynamicQuantizeLinear, MatMulInteger)",
            "weights": "int8, symmetric, per output channel",
            "activations": "int8, symmetric, min/max over the calibration images" if static else "uint8, quantized per call",
            "quantized_op_types": list(QUANTIZED_OP_TYPES) if static else ["MatMul"],
            "float_ops": "every other op type (LayerNormalization, Softmax, GELU, residual adds, resizes), the attention logits, "
            "the nodes whose integer kernel saturates on CPUs without VNNI (graphs.<name>.saturating_nodes), "
            "and the nodes chosen by measurement (graphs.<name>.float_nodes)",
            "calibration": {"source": source, "images": self.request.images} if static else None,
            "held_out_images": HELD_OUT_IMAGES,
            "stages": list(self.request.stages),
            "float_stages": list(self.request.float_stages),
            "graphs": self.graphs,
            "measured_on": measured_on(),
        }


def _option_text(value: Any) -> str:
    return ",".join(value) if isinstance(value, tuple) else str(value)


def measured_on() -> dict[str, Any]:
    """The CPU and onnxruntime that the INT8 search and the graph checks ran on. INT8 results depend on
    the CPU's integer kernels (AVX2 or VNNI, docs/int8.md), so a bundle says where they were measured."""
    cpu = cpu_features()
    return {"cpu": cpu.summary(), "flags": sorted(cpu.flags), "onnxruntime": onnxruntime.__version__}
