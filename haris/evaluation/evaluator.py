"""Evaluation of a model on a referring dataset: per-expression I/U at original resolution.

The masks come from the runtime's Predictor over the model (the eager torch backend): the same
pre-processing, tokenization, stages and post-processing as `haris predict` and the parity
reference. Refs are taken in fixed groups of RECORDS_PER_BATCH, whose images are encoded in one
run and whose sentences are decoded together; the groups are sharded over the processes, so any
number of processes computes every group exactly as one process does, and the gathered
per-expression results give the same sums.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from haris.distributed_context import DistributedContext
from haris.errors import DataError
from haris.evaluation.ris_metrics import expression_iou, intersection_union, summarize_ious
from haris.progress import Progress
from haris.runtime.predictor import Predictor
from haris.runtime.predictor_factory import predictor_for_model

RECORDS_PER_BATCH = 16


@dataclass
class EvaluationResult:
    metrics: dict[str, Any]
    results: list[dict[str, Any]]  # one per expression: ref_id, sentence_index, sentence, intersection, union, iou


def evaluate(
    model: Any,
    dataset: Any,
    context: DistributedContext,
    threshold: float = 0.0,
    max_expressions: int = 0,
    skip_bad: bool = False,
    progress: bool = False,
) -> EvaluationResult:
    """Mean IoU, overall IoU and Pr@X over the dataset's expressions (the first `max_expressions` if > 0)."""
    predictor = predictor_for_model(model, cache_bytes=0, threshold=threshold)
    groups = list(_sentences_by_record(dataset, max_expressions).items())
    batches = [groups[start : start + RECORDS_PER_BATCH] for start in range(0, len(groups), RECORDS_PER_BATCH)]
    local = []
    for batch in Progress(batches[context.rank :: context.world_size], "evaluate", unit="batch", enabled=progress and context.is_main):
        local += _evaluate_records(predictor, dataset, batch, skip_bad)
    results = sorted((row for rows in context.gather_objects(local) for row in rows), key=lambda r: (r["ref_id"], r["sentence_index"]))
    if not results:
        raise DataError("no expression could be evaluated")
    metrics = summarize_ious([r["intersection"] for r in results], [r["union"] for r in results])
    return EvaluationResult(metrics, results)


def _sentences_by_record(dataset: Any, max_expressions: int) -> dict[int, list[int]]:
    expressions = dataset.expressions[:max_expressions] if max_expressions > 0 else dataset.expressions
    grouped: dict[int, list[int]] = defaultdict(list)
    for record_index, sentence_index in expressions:
        grouped[record_index].append(sentence_index)
    return grouped


def _evaluate_records(predictor: Predictor, dataset: Any, batch: list[tuple[int, list[int]]], skip_bad: bool) -> list[dict]:
    """One row per sentence of the batch's records (a record whose files are unreadable is skipped with `skip_bad`)."""
    loaded = []
    for record_index, sentence_indices in batch:
        record = dataset.records[record_index]
        try:
            loaded.append((record, sentence_indices, dataset.load_image(record), dataset.load_mask(record)))
        except DataError:
            if not skip_bad:
                raise
    if not loaded:
        return []
    sentences = [[record.sentences[i] for i in indices] for record, indices, _, _ in loaded]
    predictions = predictor.predict_batch([(image, texts) for (_, _, image, _), texts in zip(loaded, sentences)])
    rows = []
    for (record, indices, _, gt_mask), texts, predicted in zip(loaded, sentences, predictions):
        for sentence_index, sentence, prediction in zip(indices, texts, predicted):
            intersection, union = intersection_union(prediction.mask, gt_mask)
            rows.append(
                {
                    "ref_id": record.ref_id,
                    "sentence_index": sentence_index,
                    "sentence": sentence,
                    "intersection": intersection,
                    "union": union,
                    "iou": expression_iou(intersection, union),
                }
            )
    return rows
