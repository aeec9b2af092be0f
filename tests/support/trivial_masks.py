"""What trivial masks score on the expressions an evaluation ran: the bar that training must clear."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from haris.data.dataset_source import DatasetSource


def trivial_mask_ious(folder: Path, rows: list[dict]) -> dict[str, float]:
    """Mean IoU of the empty mask and of the whole-image mask over `rows` (results.jsonl of `haris eval`
    on FOLDER's val split): 0 and about the objects' mean share of the image."""
    dataset = DatasetSource(Path(folder), "val").open()
    masks = {record.ref_id: dataset.load_mask(record) for record in dataset.records}
    objects = [masks[row["ref_id"]] for row in rows]
    return {"empty": float(np.mean([0.0 if mask.any() else 1.0 for mask in objects])), "whole": float(np.mean([mask.mean() for mask in objects]))}
