"""Evaluation of a model on a referring dataset: per-expression I/U at original resolution.

The expressions are sharded over the processes by ref (an image is encoded once for all of its
sentences); the per-expression results are gathered, so any number of processes gives the same
sums as one.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from haris.data.text_tokenizer import TextTokenizer
from haris.errors import DataError
from haris.evaluation.ris_metrics import expression_iou, intersection_union, summarize_ious
from haris.modeling.haris_model import Haris
from haris.runtime.image_transforms import postprocess_logits, preprocess_image
from haris.train.distributed_context import DistributedContext


@dataclass
class EvaluationResult:
    metrics: dict[str, Any]
    results: list[dict[str, Any]]  # one per expression: ref_id, sentence_index, sentence, intersection, union, iou


class ExpressionPredictor:
    """Masks at original resolution for the sentences of one dataset record."""

    def __init__(self, model: Haris, device: torch.device, threshold: float = 0.0, batch_size: int = 16) -> None:
        self.model, self.device, self.threshold, self.batch_size = model, device, threshold, batch_size
        self.tokenizer = TextTokenizer(model.config)

    @torch.inference_mode()
    def predict(self, image: np.ndarray, sentences: list[str]) -> list[np.ndarray]:
        config = self.model.config
        model_input, resized = preprocess_image(image, config.image_size, config.preprocess.pixel_mean, config.preprocess.pixel_std)
        image_feats = self.model.encode_image(torch.from_numpy(model_input)[None].to(self.device))
        masks = []
        for start in range(0, len(sentences), self.batch_size):
            text = self.model.encode_text(self.tokenizer(sentences[start : start + self.batch_size]).to(self.device))
            fused = self.model.fuse(*image_feats, *text)
            logits = self.model.decode(fused.vis_tokens, fused.lang_tokens, text.text_mask).float().cpu().numpy()
            masks += [postprocess_logits(row[0], resized, image.shape[:2], config.image_size) > self.threshold for row in logits]
        return masks


def evaluate(
    model: Haris,
    dataset: Any,
    context: DistributedContext,
    threshold: float = 0.0,
    max_expressions: int = 0,
    skip_bad: bool = False,
    progress: bool = False,
) -> EvaluationResult:
    """Mean IoU, overall IoU and Pr@X over the dataset's expressions (the first `max_expressions` if > 0)."""
    predictor = ExpressionPredictor(model, context.device, threshold)
    sentences_by_record = _sentences_by_record(dataset, max_expressions)
    shard = list(sentences_by_record.items())[context.rank :: context.world_size]
    local = []
    for record_index, sentence_indices in tqdm(shard, desc="evaluate", disable=not (progress and context.is_main)):
        local += _evaluate_record(predictor, dataset, record_index, sentence_indices, skip_bad)
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


def _evaluate_record(predictor: ExpressionPredictor, dataset: Any, record_index: int, sentence_indices: list[int], skip_bad: bool) -> list[dict]:
    record = dataset.records[record_index]
    try:
        image, gt_mask = dataset.load_image(record), dataset.load_mask(record)
    except DataError:
        if skip_bad:
            return []
        raise
    sentences = [record.sentences[i] for i in sentence_indices]
    rows = []
    for sentence_index, sentence, mask in zip(sentence_indices, sentences, predictor.predict(image, sentences)):
        intersection, union = intersection_union(mask, gt_mask)
        rows.append({"ref_id": record.ref_id, "sentence_index": sentence_index, "sentence": sentence,
                     "intersection": intersection, "union": union, "iou": expression_iou(intersection, union)})
    return rows
