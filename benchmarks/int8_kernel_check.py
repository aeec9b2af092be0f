"""Where an INT8 graph's difference from eager comes from on this CPU: its integer kernels or the rest.

The same INT8 bundle agreed with eager on one CPU class and not on another (docs/int8.md, "On
another CPU"). This runs each of the bundle's INT8 stage graphs on the samples the export checked it
on (`check_samples`: the demo scene, chained through eager) three ways, and judges each as the
export's check does (graph_check: each output's largest difference relative to its range, and the
share of pixels whose mask agrees with eager's):

- "fp32 graph": the bundle's FP32 graph of the stage, the float baseline of this CPU;
- "integer kernels": the INT8 graph as every runtime session runs it, onnxruntime's QDQ fusions on
  (DequantizeLinear -> MatMul -> QuantizeLinear becomes one QLinearMatMul on the CPU's u8 x s8 kernels);
- "float simulation": the same graph with those fusions off (`session.disable_quant_qdq`), so each
  DequantizeLinear, float product and QuantizeLinear runs as written, in float kernels.

The integer kernels missing where the float simulation holds puts the cause in the integer kernels
(or their fusion); both missing puts it in the quantization (scales, the float rest). Each run's
outputs and stage inputs are saved beside the report with the graphs' sha256 and the CPU, so that
`--against`, on another machine, runs the same graph files on the very inputs that run saved and
compares this CPU's outputs with that one's, run for run.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch

from haris.benchmarks.bundle_source import source_checkpoint
from haris.benchmarks.machine_info import describe_machine
from haris.benchmarks.stage_parity import DifferenceTotals
from haris.checkpoint.checkpoint_io import load_checkpoint
from haris.errors import HarisError
from haris.export.check_samples import CheckSample, as_numpy, check_samples
from haris.export.graph_check import MASK_AGREEMENT_TOLERANCE, RELATIVE_TOLERANCE, eager_outputs, expression_masks, output_checks, within_bounds
from haris.export.model_resizing import model_at_image_size
from haris.export.stage_adapter import StageAdapter
from haris.runtime.bundle import Bundle
from haris.runtime.onnxruntime_session import create_session
from haris.runtime.tensor_contract import STAGE_INPUTS, STAGE_OUTPUTS, STAGES

RUNS = {  # run name -> (the stage graph's precision, session config entries)
    "fp32 graph": ("fp32", {}),
    "integer kernels": ("int8", {}),
    "float simulation": ("int8", {"session.disable_quant_qdq": "1"}),
}
OUTPUTS_FILE, REPORT_FILE, MARKDOWN_FILE = "int8_kernel_outputs.npz", "int8_kernels.json", "int8_kernels.md"


def int8_stages(bundle: Bundle) -> list[str]:
    """The stages whose INT8 graph is a graph of its own (the others share their FP32 file)."""
    if "int8" not in bundle.precisions:
        raise HarisError(f"bundle {bundle.directory} has no INT8 graphs: add them with `haris export CKPT --out BUNDLE --precision int8 --add`")
    return [stage for stage in STAGES if bundle.graph_spec(stage, "int8").file != bundle.graph_spec(stage, "fp32").file]


def check_int8_kernels(
    bundle_dir: str | Path, out: str | Path, checkpoint: str | Path | None = None, against: str | Path | None = None, threads: int | None = None
) -> dict[str, Any]:
    """Run every INT8 stage graph of the bundle three ways (RUNS) against eager on the export's real
    samples; write the report and the outputs to `out`; with `against` (another run's folder), also
    compare each run's outputs with that run's. Returns the report."""
    bundle, out = Bundle.open(bundle_dir), Path(out)
    other = None if against is None else _saved_run(Path(against))
    model = model_at_image_size(load_checkpoint(source_checkpoint(bundle_dir, checkpoint)), bundle.manifest.image_size)
    samples, stages, saved = check_samples(model), int8_stages(bundle), {}
    report: dict[str, Any] = {"bundle": str(bundle_dir), "machine": describe_machine(threads), "stages": {}}
    report["inputs"] = "this CPU's eager stage inputs" if other is None else f"the --against run's ({other[0]['machine']['cpu_model']})"
    for stage in stages:
        real = _real_samples(samples[stage], stage, None if other is None else other[1])
        for index, sample in enumerate(real):
            saved.update({f"{stage}/inputs/{index}/{name}": array for name, array in as_numpy(sample.inputs, stage).items()})
        expected = eager_outputs(StageAdapter(model, stage), real)
        report["stages"][stage] = {"sha256": {p: bundle.graph_spec(stage, p).sha256 for p in ("fp32", "int8")}, "runs": {}}
        for run, (precision, config) in RUNS.items():
            outputs = _run_graph(bundle.graph_path(stage, precision), stage, real, threads, config)
            report["stages"][stage]["runs"][run] = _judged(stage, real, outputs, expected)
            saved.update(
                {f"{stage}/{run}/{index}/{name}": array for index, row in enumerate(outputs) for name, array in zip(STAGE_OUTPUTS[stage], row)}
            )
    if other is not None:
        report["against"] = compare_with(*other, report, saved)
    out.mkdir(parents=True, exist_ok=True)
    np.savez(out / OUTPUTS_FILE, **saved)
    (out / REPORT_FILE).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    (out / MARKDOWN_FILE).write_text(int8_kernels_markdown(report), encoding="utf-8")
    return report


def runs_past_bounds(report: dict[str, Any]) -> list[str]:
    """`stage (run)` for each run of the report with an output past the INT8 bounds."""
    runs = ((stage, run, outputs) for stage, figures in report["stages"].items() for run, outputs in figures["runs"].items())
    return [f"{stage} ({run})" for stage, run, outputs in runs if not all(output["passed"] for output in outputs.values())]


def compare_with(theirs: dict[str, Any], their_outputs: Any, report: dict[str, Any], saved: dict[str, np.ndarray]) -> dict[str, Any]:
    """Per stage and run, this CPU's outputs against another run's (its report and saved outputs) for
    the same graph files: the largest difference relative to the other's range, and the share of
    mask pixels that agree."""
    result: dict[str, Any] = {"machine": theirs["machine"], "stages": {}}
    for stage, ours in report["stages"].items():
        if theirs["stages"].get(stage, {}).get("sha256") != ours["sha256"]:
            result["stages"][stage] = {"skipped": "its graph files differ from those the other run ran (sha256)"}
            continue
        result["stages"][stage] = {run: _differences(saved, their_outputs, f"{stage}/{run}/") for run in RUNS}
    return result


def _saved_run(folder: Path) -> tuple[dict[str, Any], Any]:
    """Another run's report and outputs, read before any work so that a wrong folder costs nothing."""
    try:
        report, outputs = json.loads((folder / REPORT_FILE).read_text(encoding="utf-8")), np.load(folder / OUTPUTS_FILE)
    except (OSError, ValueError, KeyError) as error:
        raise HarisError(f"--against {folder}: not a `haris bench int8-kernels` output folder ({error})") from None
    if not any("/inputs/" in key for key in outputs.files):
        raise HarisError(f"--against {folder}: that run saved no stage inputs (it predates them): run it again on its CPU")
    return report, outputs


def _real_samples(samples: list[CheckSample], stage: str, their_outputs: Any) -> list[CheckSample]:
    """The demo-scene samples of `stage`; with another run's outputs, their inputs replaced by the
    ones that run saved, so both CPUs feed every graph the same numbers (eager's own stage inputs
    differ between CPUs in the last bits, which quantization can turn into whole steps)."""
    real = [sample for sample in samples if sample.real]
    if their_outputs is None:
        return real
    replaced = []
    for index, sample in enumerate(real):
        keys = {name: f"{stage}/inputs/{index}/{name}" for name in STAGE_INPUTS[stage]}
        missing = [key for key in keys.values() if key not in their_outputs.files]
        if missing:
            raise HarisError(f"--against: the other run saved no {missing[0]} (it predates saved inputs, or ran another bundle): run it again")
        replaced.append(sample._replace(inputs={name: torch.from_numpy(their_outputs[key]) for name, key in keys.items()}))
    return replaced


def _run_graph(path: Path, stage: str, samples: list[CheckSample], threads: int | None, config: dict[str, str]) -> list[list[np.ndarray]]:
    session = create_session(str(path), threads=threads, config=config)
    return [session.run(list(STAGE_OUTPUTS[stage]), as_numpy(sample.inputs, stage)) for sample in samples]


def _judged(stage: str, samples: list[CheckSample], outputs: list, expected: list) -> dict[str, Any]:
    """graph_check's figures for each output, judged at the INT8 bounds whatever the graph."""
    checks = output_checks(stage, "int8", samples, outputs, expected)
    return {check.output: asdict(check) | {"passed": within_bounds(check, "int8")} for check in checks}


def _differences(ours: dict[str, np.ndarray], theirs: Any, prefix: str) -> dict[str, dict[str, float]]:
    """Per output, as parity's per-stage figures judge it: the largest difference over the other
    run's largest magnitude; for mask logits also the least share of an expression's pixels that agree."""
    totals: dict[str, DifferenceTotals] = {}
    agreements: dict[str, list[float]] = {}
    for key in (key for key in ours if key.startswith(prefix) and key in theirs.files):
        name = key.rsplit("/", 1)[1]
        totals.setdefault(name, DifferenceTotals()).add(ours[key], theirs[key])
        if name == "mask_logits":
            agreements.setdefault(name, []).extend(expression_masks(ours[key], theirs[key])[1])
    figures = {name: {"relative_diff": total.summary()["relative"]} for name, total in totals.items()}
    for name, shares in agreements.items():
        figures[name]["min_mask_agreement"] = min(shares)
    return figures


def int8_kernels_markdown(report: dict[str, Any]) -> str:
    """The report as a table: per stage and run, each output's relative difference and mask agreement."""
    machine = report["machine"]
    lines = [
        f"# INT8 kernels: {report['bundle']}",
        "",
        f"CPU: {machine['cpu_model']} ({', '.join(machine['cpu_flags']) or 'no AVX-512, VNNI or BF16 flags'}), "
        f"onnxruntime {machine['libraries'].get('onnxruntime', '?')}, {machine['date']}.",
        f"Against eager on the export's demo-scene samples (inputs: {report['inputs']}); INT8 bounds: {RELATIVE_TOLERANCE['int8']:g} of the range, "
        f"masks agreeing on {MASK_AGREEMENT_TOLERANCE['int8']:g} of pixels.",
        "",
        "| stage | run | output | relative difference | mask agreement | passed |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for stage, figures in report["stages"].items():
        for run, outputs in figures["runs"].items():
            for output, check in outputs.items():
                agreement = "" if check["min_mask_agreement"] is None else f"{check['min_mask_agreement']:.4f}"
                lines.append(f"| {stage} | {run} | {output} | {check['relative_diff']:.3g} | {agreement} | {'yes' if check['passed'] else 'no'} |")
    lines += _against_markdown(report.get("against"))
    return "\n".join(lines) + "\n"


def _against_markdown(against: dict[str, Any] | None) -> list[str]:
    if against is None:
        return []
    other = against["machine"]
    lines = ["", f"Against the same graphs on {other['cpu_model']} ({', '.join(other['cpu_flags']) or 'AVX2'}), {other['date']}:", ""]
    lines += ["| stage | run | output | relative difference | mask agreement |", "| --- | --- | --- | --- | --- |"]
    for stage, runs in against["stages"].items():
        if "skipped" in runs:
            lines.append(f"| {stage} | | | skipped: {runs['skipped']} | |")
            continue
        for run, outputs in runs.items():
            for output, figures in outputs.items():
                agreement = f"{figures['min_mask_agreement']:.4f}" if "min_mask_agreement" in figures else ""
                lines.append(f"| {stage} | {run} | {output} | {figures['relative_diff']:.3g} | {agreement} |")
    return lines
