"""`haris eval`: metrics.json, results.jsonl and overlays of the best and worst expressions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from haris.checkpoint.checkpoint_io import load_checkpoint, resolve_checkpoint
from haris.data.dataset_factory import open_dataset
from haris.evaluation.evaluator import EvaluationResult, ExpressionPredictor, evaluate
from haris.evaluation.overlay_writer import write_overlay
from haris.train.distributed_context import DistributedContext


def run_evaluation(
    checkpoint: str | Path,
    data_dir: str | Path,
    split: str,
    out_dir: str | Path,
    threshold: float = 0.0,
    overlays: int = 0,
    max_expressions: int = 0,
    split_by: str | None = None,
    image_dir: str | Path | None = None,
    skip_bad: bool = False,
) -> dict[str, Any]:
    """Evaluate under one process or torchrun; the main process writes the files and returns the metrics."""
    context = DistributedContext.from_environment()
    try:
        model = load_checkpoint(resolve_checkpoint(checkpoint), context.device)
        dataset = open_dataset(data_dir, split, split_by, image_dir, skip_bad, context.log)
        result = evaluate(model, dataset, context, threshold, max_expressions, skip_bad, progress=True)
        if context.is_main:
            _write_results(result, Path(out_dir), {"checkpoint": str(checkpoint), "data": str(data_dir), "split": split, "threshold": threshold})
            if overlays:
                _write_overlays(ExpressionPredictor(model, context.device, threshold), dataset, result, Path(out_dir) / "overlays", overlays)
        return result.metrics
    finally:
        context.close()


def _write_results(result: EvaluationResult, out_dir: Path, settings: dict[str, Any]) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "metrics.json").write_text(json.dumps({**settings, **result.metrics}, indent=2) + "\n", encoding="utf-8")
    with open(out_dir / "results.jsonl", "w", encoding="utf-8") as handle:
        for row in result.results:
            handle.write(json.dumps(row) + "\n")


def _write_overlays(predictor: ExpressionPredictor, dataset: Any, result: EvaluationResult, out_dir: Path, count: int) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    ranked = sorted(result.results, key=lambda row: row["iou"])
    records = {record.ref_id: record for record in dataset.records}
    chosen = [("worst", i, row) for i, row in enumerate(ranked[:count])] + [("best", i, row) for i, row in enumerate(ranked[::-1][:count])]
    for kind, rank, row in chosen:
        record = records[row["ref_id"]]
        image = dataset.load_image(record)
        (mask,) = predictor.predict(image, [row["sentence"]])
        caption = f"{row['sentence']}  (IoU {row['iou']:.3f})"
        write_overlay(out_dir / f"{kind}_{rank:02d}_ref{row['ref_id']}.png", image, mask, dataset.load_mask(record), caption)
