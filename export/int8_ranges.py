"""Activation ranges for static INT8: onnxruntime's MinMax calibrator, run so that each activation
is freed once measured.

The calibrator measures a tensor by adding a ReduceMin and a ReduceMax on it, appended at the end of
the graph. In onnxruntime's default execution order those nodes run last, so every measured
activation stays alive until the end of the run, and SAM ViT-B's calibration at 1024 needs far
more memory than a plain run. With the priority-based order the reductions run as soon as their
tensor exists and it is freed as in a plain run (figures: docs/int8.md, Calibration). Only the
order changes, not the numbers. The ranges go to onnxruntime's calibration cache, which
quantize_static reads instead of calibrating again.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnxruntime
from onnxruntime.quantization import CalibrationDataReader
from onnxruntime.quantization.calibrate import MinMaxCalibrater, save_tensors_data


class CalibrationFeeds(CalibrationDataReader):
    """The inputs of each calibration image, one at a time, as onnxruntime's calibrators read them."""

    def __init__(self, feeds: Sequence[dict[str, np.ndarray]]) -> None:
        self._feeds = iter(feeds)

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self._feeds, None)


def write_activation_ranges(fp32_path: Path, feeds: Sequence[dict[str, np.ndarray]], op_types: Sequence[str], cache_path: Path) -> None:
    """Measure the min and max of every float input and output of the `op_types` nodes of the graph
    at `fp32_path` over `feeds`, and write them where quantize_static's `calibration_cache_path` reads."""
    with tempfile.TemporaryDirectory(prefix="haris-calibration-") as folder:
        # symmetric=False: quantize_static's own calibration runs so, and makes the ranges symmetric itself.
        calibrator = MinMaxCalibrater(fp32_path, list(op_types), Path(folder, "augmented.onnx").as_posix(), symmetric=False)
        calibrator.augment_graph()
        options = onnxruntime.SessionOptions()
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_DISABLE_ALL  # as its own session
        options.execution_order = onnxruntime.ExecutionOrder.PRIORITY_BASED
        calibrator.infer_session = onnxruntime.InferenceSession(calibrator.augmented_model_path, options, providers=["CPUExecutionProvider"])
        calibrator.collect_data(CalibrationFeeds(feeds))
        save_tensors_data(calibrator.compute_data(), cache_path)
