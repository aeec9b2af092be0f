"""Which MatMul/Conv/Gemm nodes of a graph stay float in INT8: chosen by measuring, per export.

The error of a variant is the relative L2 error of the graph's float outputs against the FP32 graph,
averaged over images held out of calibration. With every candidate quantized, a graph whose error is
within `target_error` is done. Otherwise each candidate is measured alone (only it quantized: its own
contribution, including how much the layers after it amplify it), and the worst are kept float,
greedily, until the error of the whole graph is within the target. Rounds add 1, 1, 2, 2, 4, ...
nodes, so a graph with many sensitive nodes needs few rounds. What was measured (the error with
everything quantized, each node's error alone, the rounds) goes into the manifest. Which nodes a
random frozen ViT amplifies most, measured on the tiny model: docs/int8.md.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
import onnx
import onnxruntime

from haris.export.int8_quantization import GraphQuantizer
from haris.progress import Progress

DEFAULT_TARGET_ERROR = 0.01
REPORTED_NODES = 12  # the most sensitive nodes the manifest lists with their errors


@dataclass
class SensitivityRecord:
    float_nodes: list[str]  # chosen by measurement (the attention logits come on top)
    error_all_int8: float
    error: float  # of the graph written
    cosine: float  # of the graph written: mean cosine similarity of its outputs with FP32's
    target_error: float
    quantized_nodes: int
    candidate_nodes: int
    most_sensitive: dict[str, float] = field(default_factory=dict)  # node -> error when only it is quantized
    rounds: list[dict] = field(default_factory=list)  # float nodes added and the error after

    def to_dict(self) -> dict:
        return asdict(self)


def choose_float_nodes(
    quantizer: GraphQuantizer, held_out: Sequence[dict[str, np.ndarray]], target_error: float, progress: bool = False
) -> tuple[onnx.ModelProto, SensitivityRecord]:
    """The INT8 graph of `quantizer` with the fewest float nodes this search finds within `target_error`."""
    compare = _comparer(quantizer, held_out)
    graph = quantizer.quantize()
    error_all, cosine = compare(graph)
    record = SensitivityRecord([], error_all, error_all, cosine, target_error, len(quantizer.candidates), len(quantizer.candidates))
    if error_all <= target_error:
        return graph, record
    alone = {}
    for node in Progress(quantizer.candidates, f"int8 sensitivity of {quantizer.name}", unit="node", enabled=progress):
        alone[node] = compare(quantizer.quantize(only=[node]))[0]
    ranked = sorted(alone, key=alone.__getitem__, reverse=True)
    record.most_sensitive = {node: round(alone[node], 6) for node in ranked[:REPORTED_NODES]}
    float_nodes: list[str] = []
    for round_index in range(len(ranked)):
        added = ranked[len(float_nodes) : len(float_nodes) + 2 ** (round_index // 2)]
        if not added:
            break
        float_nodes += added
        graph = quantizer.quantize(float_nodes)
        record.error, record.cosine = compare(graph)
        record.rounds.append({"float_nodes_added": added, "error": round(record.error, 6)})
        if record.error <= target_error:
            break
    record.float_nodes, record.quantized_nodes = float_nodes, len(quantizer.candidates) - len(float_nodes)
    return graph, record


def _comparer(quantizer: GraphQuantizer, held_out: Sequence[dict[str, np.ndarray]]) -> Callable[[onnx.ModelProto], tuple[float, float]]:
    """A variant's (relative L2 error, cosine similarity) against the FP32 graph, each averaged over
    the float outputs and the held-out feeds."""
    reference = _run(quantizer.fp32_path.read_bytes(), held_out)

    def compare(graph: onnx.ModelProto) -> tuple[float, float]:
        outputs = _run(graph.SerializeToString(), held_out)
        pairs = [
            (got.ravel().astype(np.float64), want.ravel().astype(np.float64))
            for got_feed, want_feed in zip(outputs, reference)
            for got, want in zip(got_feed, want_feed)
            if np.issubdtype(want.dtype, np.floating)
        ]
        errors = [np.linalg.norm(got - want) / max(np.linalg.norm(want), 1e-12) for got, want in pairs]
        cosines = [got @ want / max(np.linalg.norm(got) * np.linalg.norm(want), 1e-12) for got, want in pairs]
        return float(np.mean(errors)), float(np.mean(cosines))

    return compare


def _run(model_bytes: bytes, feeds: Sequence[dict[str, np.ndarray]]) -> list[list[np.ndarray]]:
    # Optimized as in use: onnxruntime fuses the Q/DQ pairs into its integer kernels, whose results
    # are what users get (an unfused graph computes in float on the rounded values, which misses
    # what the kernels add, such as 16-bit saturation on CPUs without VNNI: docs/measurements.md).
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    session = onnxruntime.InferenceSession(model_bytes, options, providers=["CPUExecutionProvider"])
    names = {value.name for value in session.get_inputs()}
    return [session.run(None, {key: value for key, value in feed.items() if key in names}) for feed in feeds]
