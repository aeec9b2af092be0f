"""Where inside a stage graph a precision goes wrong: the first tensor that diverges from the FP32 graph.

Parity's per-stage check (stage_parity) says which graph is off; this says where in it. The graph
under test and the bundle's FP32 graph of the same stage get every tensor marked as an output
(Polygraphy's `ModifyOutputs(outputs=MARK_ALL)`), both run in onnxruntime on the same eager stage
inputs (Polygraphy's `Comparator.run` with one `OnnxrtRunner` each), and Polygraphy's
`SimpleCompareFunc` checks the tensors of the graph under test in its node order, which ONNX
requires to be topological, stopping at the first past tolerance.

Tensors are matched by name. onnxconverter-common's FP16 conversion and the INT8 Q/DQ graphs keep
the FP32 graph's tensor names: a tensor of an FP32 island is cast back to FP16 under its own name,
and a quantized tensor keeps its name for the float value before its QuantizeLinear. What they add
(Casts, QuantizeLinear and DequantizeLinear outputs) has names of its own and is not compared, nor
are the few FP32 tensors the FP16 converter renames. A tensor diverges as a stage output does in
parity_checks: its largest difference, relative to its largest finite FP32 magnitude, exceeds the
precision's stage bound; integer and boolean tensors must be equal.

Marking every tensor keeps onnxruntime from fusing nodes across them, so a difference only a fused
kernel makes (such as INT8's u8 x s8 saturation without VNNI) may not show here: the report then
names no tensor. Every marked tensor of one sample is held in memory at once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from polygraphy import constants
from polygraphy.backend.onnx import ModifyOutputs
from polygraphy.backend.onnxrt import OnnxrtRunner
from polygraphy.comparator import Comparator, IterationResult, SimpleCompareFunc
from polygraphy.logger import G_LOGGER

from haris.benchmarks.bench_backends import BackendSpec
from haris.benchmarks.parity_checks import stage_excesses
from haris.benchmarks.stage_parity import StageSample
from haris.runtime.bundle import Bundle
from haris.runtime.onnxruntime_backend import session_providers
from haris.runtime.onnxruntime_session import create_session

UNDER_TEST, REFERENCE = "under test", "fp32 reference"  # Polygraphy's runner names


@dataclass(frozen=True)
class Divergence:
    """The first tensor past tolerance: its producing node in both graphs, and by how much it differs."""

    tensor: str
    node: str  # its producer in the FP32 graph
    op_type: str
    node_under_test: str  # its producer in the graph under test: a Cast where FP16 casts an FP32 island back
    op_type_under_test: str
    max_abs: float
    scale: float  # the tensor's largest finite FP32 magnitude
    relative: float
    sample: int  # the first sample on which a tensor diverged


def first_divergence(
    reference: str | Path,
    under_test: str | Path,
    samples: Sequence[Mapping[str, np.ndarray]],
    bound: float,
    threads: int | None = None,
    providers: Sequence[str | tuple[str, dict]] = ("CPUExecutionProvider",),
) -> dict[str, Any]:
    """Replay `under_test` (on `providers`) and the FP32 `reference` graph (on the CPU) on each
    sample's inputs, until one tensor they both name differs by more than `bound` of its range.

    Returns the graphs' file names, the bound, how many of the tensors of the graph under test the
    reference shares, and the first divergent tensor as a `Divergence` dict (None if none diverges).
    """
    graphs = {UNDER_TEST: onnx.load(str(under_test)), REFERENCE: onnx.load(str(reference))}
    producers = {role: _producers(graph) for role, graph in graphs.items()}
    runners = [
        OnnxrtRunner(_session_marking_every_tensor(graphs[UNDER_TEST], providers, threads), name=UNDER_TEST),
        OnnxrtRunner(_session_marking_every_tensor(graphs[REFERENCE], ("CPUExecutionProvider",), threads), name=REFERENCE),
    ]
    found = None
    for index, feeds in enumerate(samples):
        with G_LOGGER.verbosity(G_LOGGER.CRITICAL):  # Polygraphy logs every tensor it compares or skips
            results = Comparator.run(runners, data_loader=[dict(feeds)])
        found = _first_past_bound(results[UNDER_TEST][0], results[REFERENCE][0], bound, producers, index)
        if found is not None:
            break
    return {
        "graph": Path(under_test).name,
        "reference": Path(reference).name,
        "bound": bound,
        "shared_tensors": len(producers[UNDER_TEST].keys() & producers[REFERENCE].keys()),
        "tensors": len(producers[UNDER_TEST]),
        "first_divergent": None if found is None else asdict(found),
    }


def localize_failed_stages(
    bundle: str | Path,
    spec: BackendSpec,
    samples: Sequence[StageSample],
    stages: dict[str, dict[str, dict[str, float]]],
    bound: float,
    threads: int | None,
) -> dict[str, dict[str, Any]]:
    """{stage: first_divergence's report, or {"skipped": why}} for each stage of `spec`'s parity
    result (`stages`, stage_parity's summary) with a tensor past `bound`."""
    failing = list(dict.fromkeys(stage for stage, _, _ in stage_excesses(stages, bound)))
    reason = _why_not_replayed(spec)
    if reason or not failing:
        return {stage: {"skipped": reason} for stage in failing}
    opened = Bundle.open(bundle, verify_all=False)
    return {
        stage: first_divergence(
            opened.graph_path(stage, "fp32"),
            opened.graph_path(stage, spec.precision),
            [sample[stage][0] for sample in samples],
            bound,
            threads,
            session_providers(spec.device),
        )
        for stage in failing
    }


def _why_not_replayed(spec: BackendSpec) -> str | None:
    if spec.backend != "onnxruntime":
        return f"only onnxruntime runs are replayed: {spec.backend} would run the marked graph with kernels of its own"
    if spec.precision == "fp32":
        return "the FP32 graph is the reference: an FP32 stage that fails differs from eager, whose tensors have no graph names"
    return None


def _producers(graph: onnx.ModelProto) -> dict[str, onnx.NodeProto]:
    """tensor name -> the node that writes it, for every node output of the graph."""
    return {output: node for node in graph.graph.node for output in node.output if output}


def _session_marking_every_tensor(graph: onnx.ModelProto, providers: Sequence[str | tuple[str, dict]], threads: int | None) -> Any:
    # HARIS's own session options: onnxruntime's NCHWc pass crashes on the FP16 text encoder.
    marked = ModifyOutputs(graph, outputs=constants.MARK_ALL)()
    return create_session(marked.SerializeToString(), providers, threads)


def _first_past_bound(
    got: IterationResult, want: IterationResult, bound: float, producers: dict[str, dict[str, onnx.NodeProto]], sample: int
) -> Divergence | None:
    # With an absolute tolerance of bound x the tensor's range, "max" fails exactly when parity's
    # relative difference exceeds the bound: the largest elementwise relative difference (against
    # each element's own magnitude) is never smaller, so the rtol half of Polygraphy's
    # "abs and rel both exceeded" rule never rescues a tensor past it.
    scales = {name: _scale(array) for name, array in want.items()}
    compare = SimpleCompareFunc(
        atol={name: bound * scale for name, scale in scales.items()},
        rtol=bound,
        check_error_stat="max",
        infinities_compare_equal=True,  # the text encoder's attention masks hold -inf: equal infinities agree
        fail_fast=True,  # tensors come in the node order of the graph under test: the first failure is the first divergence
        # Exact names only: Polygraphy's default falls back to a partial name or the output's position.
        find_output_func=lambda name, _index, other: [name] if name in other else None,
    )
    with G_LOGGER.verbosity(G_LOGGER.CRITICAL), np.errstate(invalid="ignore", divide="ignore"):
        verdicts = compare(got, want)
    name = next((name for name, verdict in verdicts.items() if not verdict), None)
    if name is None:
        return None
    reference_node, node = producers[REFERENCE][name], producers[UNDER_TEST][name]
    max_abs = float(getattr(verdicts[name], "max_absdiff", np.nan))  # a bare False carries no statistics: the shapes differ
    return Divergence(
        name, reference_node.name, reference_node.op_type, node.name, node.op_type, max_abs, scales[name], max_abs / max(scales[name], 1e-12), sample
    )


def _scale(array: np.ndarray) -> float:
    """The largest finite magnitude of a floating tensor; 0 for integer and boolean ones, which must be equal."""
    if not np.issubdtype(array.dtype, np.floating):
        return 0.0
    finite = np.abs(array[np.isfinite(array)].astype(np.float64))
    return float(finite.max(initial=0.0))
