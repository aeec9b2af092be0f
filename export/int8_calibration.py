"""What an INT8 export is asked for (`haris export --precision int8 --calibration ...`), and the
calibration it prepares once for every graph of the bundle."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import onnx

from haris.export.calibration_set import calibration_items, stage_feeds
from haris.export.int8_quantization import quantization_record, quantize_graph
from haris.modeling.haris_model import Haris

DEFAULT_CALIBRATION_IMAGES = 16


@dataclass(frozen=True)
class Int8Request:
    calibration: str | Path | None = None  # a dataset or image folder; None: synthetic scenes rendered in memory
    images: int = DEFAULT_CALIBRATION_IMAGES
    method: str = "static"  # or "dynamic": no calibration, onnxruntime only


@dataclass
class Int8Calibration:
    request: Int8Request
    feeds: dict[str, list[dict[str, np.ndarray]]]  # per graph, its inputs for each calibration image
    kept_float: dict[str, list[str]] = field(default_factory=dict)  # per graph, the nodes left in float

    @classmethod
    def prepare(cls, model: Haris, request: Int8Request) -> Int8Calibration:
        """Read the calibration images and run them through the eager model (static method only)."""
        if request.method != "static":
            return cls(request, {})
        items = calibration_items(request.calibration, request.images, model.config.image_size)
        return cls(request, stage_feeds(model, items))

    def quantize(self, fp32: onnx.ModelProto, name: str) -> onnx.ModelProto:
        graph, kept_float = quantize_graph(fp32, name, self.feeds.get(name, []), self.request.method)
        self.kept_float[name] = kept_float
        return graph

    def record(self) -> dict[str, Any]:
        source = str(Path(self.request.calibration).resolve()) if self.request.calibration else "synthetic scenes rendered in memory (seed 1)"
        calibration = {"source": source, "images": self.request.images} if self.request.method == "static" else None
        return {**quantization_record(self.request.method), "calibration": calibration, "kept_float_nodes": self.kept_float}
