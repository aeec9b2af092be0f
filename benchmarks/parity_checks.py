"""What the parity benchmark calls a pass: tolerances per precision, and the checks against them.

Three checks per backend, each stated as a number in the report:

- mask agreement with eager FP32 (IoU between the two masks of each expression): its mean, and its
  1st percentile, so that one borderline expression among thousands does not fail a graph but a
  tail of disagreeing ones does (the minimum is reported, not judged);
- per-stage relative difference (stage_parity): every contract tensor of every stage;
- the dataset metrics against ground truth: |delta| of mean IoU and overall IoU from eager's.
  Pr@X is reported but not judged: one expression crossing 0.5 moves Pr@50 by 1/n.

FP32 bounds sit above export's own graph check (relative 1e-4, mask IoU 0.999) because another
backend's kernels (TensorRT's tactics, onnxruntime on another CPU) reorder sums; FP16 and bf16
bounds follow from their 11- and 8-bit mantissas; INT8's from its 256 levels per tensor or channel.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

# Mask-agreement histogram edges: fine near 1, where honest backends live.
AGREEMENT_EDGES = (0.0, 0.5, 0.8, 0.9, 0.95, 0.98, 0.99, 0.995, 0.999, 0.9999, 1.0)
JUDGED_METRICS = ("mean_iou", "overall_iou")


@dataclass(frozen=True)
class ParityTolerances:
    stage_relative: float  # max |backend - eager| / max |eager|, per stage output
    mean_mask_iou: float  # lower bound of the mean mask agreement
    p01_mask_iou: float  # lower bound of its 1st percentile
    metric_delta: float  # upper bound of |delta| of mean IoU and overall IoU


TOLERANCES = {
    "fp32": ParityTolerances(stage_relative=1e-3, mean_mask_iou=0.999, p01_mask_iou=0.99, metric_delta=0.002),
    "fp16": ParityTolerances(stage_relative=3e-2, mean_mask_iou=0.99, p01_mask_iou=0.95, metric_delta=0.01),
    # BF16 is the "near FP32" class `--precision auto` may choose (runtime/engine_choice.py): FP16's mask bars.
    "bf16": ParityTolerances(stage_relative=5e-2, mean_mask_iou=0.99, p01_mask_iou=0.95, metric_delta=0.01),
    # INT8 (the bar set for the trained tiny model, docs/int8.md): masks as good as FP16's tail allows; the stage
    # bound is loose because a per-tensor 8-bit activation scale can clip the rare outlier.
    "int8": ParityTolerances(stage_relative=0.25, mean_mask_iou=0.98, p01_mask_iou=0.90, metric_delta=0.01),
}


def agreement_summary(ious: Sequence[float]) -> dict[str, Any]:
    """Mean, minimum and 1st percentile of the per-expression mask IoUs, and their histogram."""
    values = np.asarray(ious, dtype=np.float64)
    counts, _ = np.histogram(values, bins=AGREEMENT_EDGES)
    return {
        "mean": float(values.mean()),
        "min": float(values.min()),
        "p01": float(np.percentile(values, 1)),
        "identical": int(np.count_nonzero(values == 1.0)),
        "histogram": {"edges": list(AGREEMENT_EDGES), "counts": counts.tolist()},
    }


def metric_deltas(backend: dict[str, Any], eager: dict[str, Any]) -> dict[str, float]:
    """backend - eager for mean IoU, overall IoU and every Pr@X."""
    deltas = {name: backend[name] - eager[name] for name in JUDGED_METRICS}
    deltas |= {name: backend["precision"][name] - value for name, value in eager["precision"].items()}
    return deltas


def judge(label: str, result: dict[str, Any], tolerances: ParityTolerances) -> list[str]:
    """One line per check `result` (a backend's parity summary) fails, naming what and by how much."""
    failures = []
    agreement = result["mask_agreement"]
    if agreement["mean"] < tolerances.mean_mask_iou:
        failures.append(f"{label}: mean mask IoU with eager {agreement['mean']:.4f} < {tolerances.mean_mask_iou}")
    if agreement["p01"] < tolerances.p01_mask_iou:
        failures.append(f"{label}: 1st-percentile mask IoU with eager {agreement['p01']:.4f} < {tolerances.p01_mask_iou}")
    for stage, name, difference in stage_excesses(result["stages"], tolerances.stage_relative):
        failures.append(
            f"{label}: stage {stage} output {name} differs from eager by {difference['max_abs']:.3g} "
            f"({difference['relative']:.3g} of its range > {tolerances.stage_relative:g})"
        )
    for name in JUDGED_METRICS:
        delta = result["metric_deltas"][name]
        if abs(delta) > tolerances.metric_delta:
            failures.append(f"{label}: {name} differs from eager's by {delta:+.4f} (|delta| > {tolerances.metric_delta})")
    return failures


def stage_excesses(stages: dict[str, dict[str, dict[str, float]]], bound: float) -> Iterator[tuple[str, str, dict[str, float]]]:
    """(stage, tensor, difference) of each stage tensor (stage_parity's summary) whose relative difference exceeds `bound`."""
    for stage, tensors in stages.items():
        for name, difference in tensors.items():
            if difference["relative"] > bound:
                yield stage, name, difference


def tolerances_table(tolerances: dict[str, ParityTolerances]) -> dict[str, dict[str, float]]:
    """The tolerances as the report states them."""
    return {precision: asdict(bounds) for precision, bounds in tolerances.items()}
