"""`run_evaluation` on a PhraseCut folder: the dataset is recognised and every phrase is scored."""

from __future__ import annotations

import json

import numpy as np
from PIL import Image
from tiny_models import build_tiny

from haris.checkpoint import save_checkpoint
from haris.data.dataset_factory import open_dataset
from haris.data.dataset_source import DatasetSource
from haris.data.phrasecut_dataset import PhraseCutDataset
from haris.evaluation.evaluation_run import run_evaluation


def write_phrasecut(root):
    (root / "images").mkdir(parents=True)
    Image.fromarray(np.full((40, 50, 3), 90, dtype=np.uint8)).save(root / "images" / "7.jpg")
    (root / "image_data_split.json").write_text(json.dumps([{"image_id": 7, "width": 50, "height": 40, "split": "test"}]))
    tasks = [
        {"task_id": "7__1", "image_id": 7, "phrase": "the grey wall", "Polygons": [[[[0, 0], [20, 0], [20, 20], [0, 20]]]]},
        {"task_id": "7__2", "image_id": 7, "phrase": "a corner", "Polygons": [[[[30, 30], [49, 30], [49, 39]]]]},
    ]
    (root / "refer_test.json").write_text(json.dumps(tasks))


def test_phrasecut_folder_is_evaluated_zero_shot(tmp_path):
    write_phrasecut(tmp_path / "phrasecut")
    assert isinstance(open_dataset(tmp_path / "phrasecut", "test"), PhraseCutDataset)
    save_checkpoint(build_tiny(["image_size=64"]), tmp_path / "ckpt")
    metrics = run_evaluation(tmp_path / "ckpt", DatasetSource(tmp_path / "phrasecut", "test"), tmp_path / "out", overlays=1)
    assert metrics["count"] == 2
    saved = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert saved["split"] == "test" and saved["mean_iou"] == metrics["mean_iou"]
    rows = [json.loads(line) for line in (tmp_path / "out" / "results.jsonl").read_text().splitlines()]
    assert [row["sentence"] for row in rows] == ["the grey wall", "a corner"]
    assert all(row["union"] >= 441 for row in rows[:1])  # the 21 x 21 ground truth square at least
    assert len(list((tmp_path / "out" / "overlays").glob("*.png"))) == 2
