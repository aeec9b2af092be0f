"""Parity benchmark: each bundle runtime against eager FP32 on a dataset split.

    haris bench parity --bundle B --data D --split val --out DIR   (the bundle's own checkpoint is the reference)

Every expression is segmented by eager FP32 (the checkpoint, the reference) and by each backend,
each as a user runs it (its own Predictor: pre-processing, tokenizer, stages, post-processing).
Per backend the report gives the mask agreement with eager (IoU between the two masks), the
per-stage differences on the eager inputs (stage_parity), the dataset metrics against ground truth
and their deltas from eager's, a pass or fail against stated tolerances (parity_checks), and the
worst-agreeing expressions as side-by-side overlays (eager | backend | ground truth).
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from haris.benchmarks.bench_backends import PARITY_BACKENDS, BackendSpec, open_available, parse_backends
from haris.benchmarks.bench_report import write_parity_report
from haris.benchmarks.machine_info import describe_bundle, describe_machine
from haris.benchmarks.parity_checks import TOLERANCES, ParityTolerances, agreement_summary, judge, metric_deltas, tolerances_table
from haris.benchmarks.stage_parity import StageSample, eager_stage_samples, stage_differences
from haris.data.dataset_source import DatasetSource
from haris.errors import HarisError
from haris.evaluation.ris_metrics import expression_iou, intersection_union, summarize_ious
from haris.progress import Progress
from haris.runtime.mask_overlay import write_side_by_side
from haris.runtime.predictor import Predictor

STAGE_SAMPLE_EXPRESSIONS = 16  # within every bundle's B range (export's default maximum is 64)


def run_parity(
    checkpoint: str | Path,
    bundle: str | Path,
    source: DatasetSource,
    backends: str | Sequence[str] = PARITY_BACKENDS,
    out: str | Path | None = None,
    max_expressions: int = 0,
    threads: int | None = None,
    stage_samples: int = 2,
    worst_cases: int = 4,
    tolerances: Mapping[str, ParityTolerances] = TOLERANCES,
    reference_device: str = "cpu",
    progress: bool = False,
    localize: bool = False,
) -> dict[str, Any]:
    """Compare every backend with eager FP32; write the report to `out` if given and return it.

    `max_expressions` > 0 keeps the split's first N expressions; the first `stage_samples` refs
    (with their sentences) feed the per-stage comparison; `worst_cases` overlays per backend.
    The report's "passed" is False, and "failures" says why, when any check fails or no backend
    could run at all. `localize` adds, per backend, where each stage past its bound first diverges
    from the bundle's FP32 graph (divergence_localizer).
    """
    dataset = source.open()
    groups = _expression_groups(dataset, max_expressions)
    eager = Predictor.from_checkpoint(checkpoint, reference_device, "fp32", threads)
    opened, skipped = open_available(parse_backends(backends), checkpoint, bundle, threads)
    rows, samples, eager_metrics, results = _compare(dataset, groups, eager, opened, stage_samples, tolerances, progress)
    if localize:
        _localize_failed_stages(results, list(opened), bundle, samples, tolerances, threads)
    failures = [failure for result in results.values() for failure in result["failures"]]
    failures += [] if results else [f"no backend could run here: {json.dumps(skipped)}"]
    report = {
        "kind": "parity",
        "machine": describe_machine(threads),
        "bundle": describe_bundle(bundle),
        "checkpoint": str(checkpoint),
        "reference": f"torch:fp32@{reference_device}",
        "settings": {"data": str(source.folder), "split": source.split, "refs": len(groups), "expressions": len(rows), "stage_samples": len(samples)},
        "tolerances": tolerances_table(dict(tolerances)),
        "eager": {"metrics": eager_metrics},
        "backends": results,
        "skipped": skipped,
        "failures": failures,
        "passed": not failures,
    }
    if out is not None:
        _write_outputs(report, rows, Path(out), dataset, groups, eager, opened, worst_cases)
    return report


def _compare(
    dataset: Any,
    groups: dict[int, list[int]],
    eager: Predictor,
    opened: dict[BackendSpec, Predictor],
    stage_samples: int,
    tolerances: Mapping[str, ParityTolerances],
    progress: bool,
) -> tuple[list[dict], list[StageSample], dict[str, Any], dict[str, dict]]:
    """Each expression scored by eager FP32 and every backend, the stage samples, eager's metrics and
    each backend's result (agreement, stage differences, the checks against `tolerances`)."""
    rows = [
        row
        for record_index, positions in Progress(groups.items(), "parity", unit="record", enabled=progress)
        for row in _score_record(dataset, record_index, positions, eager, opened)
    ]
    samples = eager_stage_samples(eager, *_stage_inputs(dataset, groups, stage_samples))
    eager_metrics = _metrics(rows, "eager")
    results = {
        spec.label: _backend_result(spec, rows, eager_metrics, stage_differences(predictor.backend, samples), tolerances)
        for spec, predictor in opened.items()
    }
    return rows, samples, eager_metrics, results


def _expression_groups(dataset: Any, max_expressions: int) -> dict[int, list[int]]:
    """record index -> its sentence positions, for the first `max_expressions` expressions (all if 0)."""
    chosen = dataset.expressions[:max_expressions] if max_expressions > 0 else dataset.expressions
    groups: dict[int, list[int]] = defaultdict(list)
    for record_index, sentence_index in chosen:
        groups[record_index].append(sentence_index)
    return groups


def _record_masks(predictor: Predictor, image: np.ndarray, sentences: list[str]) -> list[np.ndarray]:
    return [prediction.mask for prediction in predictor.segment(image, sentences)]


def _score_record(dataset: Any, record_index: int, positions: list[int], eager: Predictor, opened: dict[BackendSpec, Predictor]) -> list[dict]:
    """One row per sentence: eager's and each backend's I/U against ground truth, and their agreement."""
    record = dataset.records[record_index]
    image, gt_mask = dataset.load_image(record), dataset.load_mask(record)
    sentences = [record.sentences[position] for position in positions]
    eager_masks = _record_masks(eager, image, sentences)
    rows = [
        {
            "record_index": record_index,
            "ref_id": record.ref_id,
            "sentence_index": position,
            "sentence": sentence,
            "eager": intersection_union(mask, gt_mask),
            "backends": {},
        }
        for position, sentence, mask in zip(positions, sentences, eager_masks)
    ]
    for spec, predictor in opened.items():
        for row, eager_mask, mask in zip(rows, eager_masks, _record_masks(predictor, image, sentences)):
            row["backends"][spec.label] = {
                "gt": intersection_union(mask, gt_mask),
                "agreement": expression_iou(*intersection_union(mask, eager_mask)),
            }
    return rows


def _stage_inputs(dataset: Any, groups: dict[int, list[int]], count: int) -> tuple[list[np.ndarray], list[list[str]]]:
    images, sentences = [], []
    for record_index, positions in list(groups.items())[:count]:
        record = dataset.records[record_index]
        images.append(dataset.load_image(record))
        sentences.append([record.sentences[position] for position in positions][:STAGE_SAMPLE_EXPRESSIONS])
    return images, sentences


def _metrics(rows: list[dict], label: str) -> dict[str, Any]:
    counts = [row["eager"] if label == "eager" else row["backends"][label]["gt"] for row in rows]
    return summarize_ious([i for i, _ in counts], [u for _, u in counts])


def _backend_result(spec: BackendSpec, rows: list[dict], eager_metrics: dict, stages: dict, tolerances: Mapping[str, ParityTolerances]) -> dict:
    metrics = _metrics(rows, spec.label)
    result = {
        "precision": spec.precision,
        "device": spec.device,
        "metrics": metrics,
        "metric_deltas": metric_deltas(metrics, eager_metrics),
        "mask_agreement": agreement_summary([row["backends"][spec.label]["agreement"] for row in rows]),
        "stages": stages,
    }
    result["failures"] = judge(spec.label, result, tolerances[spec.precision])
    result["passed"] = not result["failures"]
    return result


def _localize_failed_stages(
    results: dict[str, dict],
    specs: list[BackendSpec],
    bundle: str | Path,
    samples: list[StageSample],
    tolerances: Mapping[str, ParityTolerances],
    threads: int | None,
) -> None:
    """Each backend's result gets "localization": {failing stage: its first divergent tensor}."""
    try:  # Polygraphy and onnx come with the export extra; only --localize needs them
        from haris.benchmarks.divergence_localizer import localize_failed_stages
    except ModuleNotFoundError as error:
        raise HarisError(f"--localize needs {error.name}, which the export extra installs: pip install 'haris[export]'") from None
    for spec in specs:
        result = results[spec.label]
        result["localization"] = localize_failed_stages(bundle, spec, samples, result["stages"], tolerances[spec.precision].stage_relative, threads)


def _write_outputs(
    report: dict,
    rows: list[dict],
    out: Path,
    dataset: Any,
    groups: dict[int, list[int]],
    eager: Predictor,
    opened: dict[BackendSpec, Predictor],
    worst_cases: int,
) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "parity_expressions.jsonl", "w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row) + "\n")
    for spec, predictor in opened.items():
        report["backends"][spec.label]["overlays"] = _write_worst_overlays(spec, (eager, predictor), rows, dataset, groups, out, worst_cases)
    write_parity_report(report, out)


def _write_worst_overlays(
    spec: BackendSpec, predictors: tuple[Predictor, Predictor], rows: list[dict], dataset: Any, groups: dict[int, list[int]], out: Path, count: int
) -> list[str]:
    """Side-by-side PNGs of the `count` least-agreeing expressions (none where masks are identical).

    The record's sentences are predicted again in the batch they were scored in, so the masks shown
    are the masks scored (the batch's longest sentence sets the token length L).
    """
    ranked = sorted((row for row in rows if row["backends"][spec.label]["agreement"] < 1.0), key=lambda row: row["backends"][spec.label]["agreement"])
    written = []
    for rank, row in enumerate(ranked[:count]):
        record = dataset.records[row["record_index"]]
        image, gt_mask = dataset.load_image(record), dataset.load_mask(record)
        positions = groups[row["record_index"]]
        sentences = [record.sentences[position] for position in positions]
        eager_mask, mask = (_record_masks(p, image, sentences)[positions.index(row["sentence_index"])] for p in predictors)
        name = f"overlays/{re.sub(r'[^A-Za-z0-9]+', '_', spec.label)}_worst{rank:02d}_ref{row['ref_id']}.png"
        caption = f"{row['sentence']}  (agreement IoU {row['backends'][spec.label]['agreement']:.4f})"
        write_side_by_side(out / name, image, [("eager fp32", eager_mask), (spec.label, mask), ("ground truth", gt_mask)], gt_mask, caption)
        written.append(name)
    return written
