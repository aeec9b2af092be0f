"""`haris eval`: metrics.json, results.jsonl and overlays of the best and worst expressions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from haris.checkpoint.checkpoint_io import load_checkpoint, resolve_checkpoint
from haris.data.dataset_source import DatasetSource
from haris.distributed_context import DistributedContext
from haris.evaluation.evaluator import EvaluationResult, evaluate
from haris.runtime.mask_overlay import write_overlay
from haris.runtime.predictor import Predictor
from haris.runtime.predictor_factory import predictor_for_model


def run_evaluation(
    checkpoint: str | Path,
    source: DatasetSource,
    out_dir: str | Path,
    threshold: float = 0.0,
    overlays: int = 0,
    max_expressions: int = 0,
) -> dict[str, Any]:
    """Evaluate under one process or torchrun; the main process writes the files and returns the metrics."""
    context = DistributedContext.from_environment()
    try:
        model = load_checkpoint(resolve_checkpoint(checkpoint), context.device)
        dataset = source.open()
        result = evaluate(model, dataset, context, threshold, max_expressions, source.skip_bad, progress=True)
        if context.is_main:
            settings = {"checkpoint": str(checkpoint), "data": str(source.folder), "split": source.split, "threshold": threshold}
            _write_results(result, Path(out_dir), settings)
            if overlays:
                _write_overlays(predictor_for_model(model, threshold=threshold), dataset, result, Path(out_dir) / "overlays", overlays)
        return result.metrics
    finally:
        context.close()


def _write_results(result: EvaluationResult, out_dir: Path, settings: dict[str, Any]) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "metrics.json").write_text(json.dumps({**settings, **result.metrics}, indent=2) + "\n", encoding="utf-8")
    with open(out_dir / "results.jsonl", "w", encoding="utf-8") as handle:
        for row in result.results:
            handle.write(json.dumps(row) + "\n")


def _write_overlays(predictor: Predictor, dataset: Any, result: EvaluationResult, out_dir: Path, count: int) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    ranked = sorted(result.results, key=lambda row: row["iou"])
    records = {record.ref_id: record for record in dataset.records}
    chosen = [("worst", i, row) for i, row in enumerate(ranked[:count])] + [("best", i, row) for i, row in enumerate(ranked[::-1][:count])]
    for kind, rank, row in chosen:
        record = records[row["ref_id"]]
        image = dataset.load_image(record)
        mask = predictor.segment(image, [row["sentence"]])[0].mask
        caption = f"{row['sentence']}  (IoU {row['iou']:.3f})"
        write_overlay(out_dir / f"{kind}_{rank:02d}_ref{row['ref_id']}.png", image, mask, dataset.load_mask(record), caption)
