"""Checking an exported graph against its eager stage in onnxruntime, before it is written.

Per output, the largest absolute difference is judged relative to the output's largest magnitude
(features of ViTs span orders of magnitude; a relative bound means the same thing for all of them).
Boolean outputs must be equal. Mask logits must also give the same masks (logit > 0) on the real
(demo scene) samples: judged by the share of pixels on which the two masks agree, and the IoU
between them is recorded too (IoU alone would fail a tiny mask for one pixel whose logit sits
within rounding of zero).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import onnx
import torch

from haris.errors import ExportError
from haris.export.check_samples import CheckSample, as_numpy
from haris.export.stage_adapter import StageAdapter
from haris.runtime.onnxruntime_session import create_session
from haris.runtime.tensor_contract import STAGE_INPUTS, STAGE_OUTPUTS

RELATIVE_TOLERANCE = {"fp32": 1e-4, "fp16": 2e-2, "int8": 0.5}
# INT8 is judged on the real samples only: random inputs lie outside the calibrated ranges, where a
# static scale clips them (they still run, so shapes and dtypes are checked on them too).
REAL_SAMPLES_ONLY = {"int8"}
MASK_AGREEMENT_TOLERANCE = {"fp32": 0.999, "fp16": 0.99, "int8": 0.95}  # least share of pixels on which masks agree


@dataclass(frozen=True)
class OutputCheck:
    output: str
    worst_sample: str
    max_abs_diff: float
    relative_diff: float  # max_abs_diff / largest |eager value|
    tolerance: float
    min_mask_iou: float | None  # mask_logits only
    min_mask_agreement: float | None  # mask_logits only: least share of agreeing pixels

    @property
    def passed(self) -> bool:
        return self.relative_diff <= self.tolerance


@torch.inference_mode()
def eager_outputs(adapter: StageAdapter, samples: list[CheckSample]) -> list[tuple[np.ndarray, ...]]:
    names = STAGE_INPUTS[adapter.stage]
    return [tuple(output.numpy() for output in adapter(*(sample.inputs[name] for name in names))) for sample in samples]


def check_graph(
    model: onnx.ModelProto, stage: str, precision: str, samples: list[CheckSample], expected: list[tuple[np.ndarray, ...]]
) -> list[OutputCheck]:
    """Run `model` on every sample; raise ExportError naming the output and by how much it is off."""
    session = create_session(model.SerializeToString())
    outputs = [session.run(list(STAGE_OUTPUTS[stage]), as_numpy(sample.inputs, stage)) for sample in samples]
    checks = output_checks(stage, precision, samples, outputs, expected)
    for check in checks:
        if not within_bounds(check, precision):
            raise ExportError(
                f"{precision} {stage} graph: output {check.output} differs from eager by {check.max_abs_diff:.3g} "
                f"({check.relative_diff:.3g} of its range, tolerance {check.tolerance:g}), masks agree on "
                f"{check.min_mask_agreement} of pixels (IoU {check.min_mask_iou}), worst on sample '{check.worst_sample}'; "
                "the graph is not written"
            )
    return checks


def within_bounds(check: OutputCheck, precision: str) -> bool:
    """The output within its tolerance and, for mask logits, its masks agreeing with eager's on enough pixels."""
    masks_differ = check.min_mask_agreement is not None and check.min_mask_agreement < MASK_AGREEMENT_TOLERANCE[precision]
    return check.passed and not masks_differ


def output_checks(
    stage: str, precision: str, samples: list[CheckSample], outputs: list[list[np.ndarray]], expected: list[tuple[np.ndarray, ...]]
) -> list[OutputCheck]:
    """Per output of `stage`, how far `outputs` (per sample, in STAGE_OUTPUTS order) are from eager's, as `precision` is judged."""
    return [_check_output(index, name, samples, outputs, expected, precision) for index, name in enumerate(STAGE_OUTPUTS[stage])]


def _check_output(index: int, name: str, samples: list[CheckSample], outputs: list, expected: list, precision: str) -> OutputCheck:
    relative, worst, worst_abs = -1.0, "", 0.0
    for sample, got, want in zip(samples, outputs, expected):
        got_value, want_value = got[index], want[index]
        if got_value.shape != want_value.shape:
            raise ExportError(f"{precision} graph output {name} has shape {got_value.shape}, eager {want_value.shape} (sample '{sample.label}')")
        if precision in REAL_SAMPLES_ONLY and not sample.real:
            continue
        if want_value.dtype == np.bool_:
            diff, scale = float(np.count_nonzero(got_value != want_value)), 1.0
        else:
            diff, scale = float(np.abs(got_value - want_value).max()), max(float(np.abs(want_value).max()), 1e-12)
        if diff / scale > relative:
            relative, worst, worst_abs = diff / scale, sample.label, diff
    tolerance = 0.0 if expected[0][index].dtype == np.bool_ else RELATIVE_TOLERANCE[precision]
    if name != "mask_logits":
        return OutputCheck(name, worst, worst_abs, relative, tolerance, None, None)
    ious, agreements = _mask_agreement(index, samples, outputs, expected)
    return OutputCheck(name, worst, worst_abs, relative, tolerance, min(ious), min(agreements))


def _mask_agreement(index: int, samples: list[CheckSample], outputs: list, expected: list) -> tuple[list[float], list[float]]:
    """Per expression of the real samples: mask IoU, and the share of pixels where the masks agree."""
    ious, agreements = [1.0], [1.0]
    for sample, got, want in zip(samples, outputs, expected):
        if sample.real:
            sample_ious, sample_agreements = expression_masks(got[index], want[index])
            ious += sample_ious
            agreements += sample_agreements
    return ious, agreements


def expression_masks(got_logits: np.ndarray, want_logits: np.ndarray) -> tuple[list[float], list[float]]:
    """Per expression (first axis) of two mask-logit arrays: the IoU of their masks (logit > 0), and
    the share of pixels on which the masks agree."""
    ious, agreements = [], []
    for got_mask, want_mask in zip(got_logits > 0, want_logits > 0):
        union = np.logical_or(got_mask, want_mask).sum()
        ious.append(1.0 if union == 0 else float(np.logical_and(got_mask, want_mask).sum() / union))
        agreements.append(float(np.mean(got_mask == want_mask)))
    return ious, agreements


def check_summary(checks: list[OutputCheck]) -> dict[str, dict]:
    """What the manifest records of a graph's check."""
    return {check.output: {key: value for key, value in asdict(check).items() if key != "output"} for check in checks}
