"""What a labelling run writes, without Ray: shards gathered from rows in any order, their COCO files
(read back by pycocotools), the merge, and the manifest that makes a run resumable."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from pycocotools.coco import COCO
from pycocotools.mask import decode

from haris.atomic_file import write_atomically
from haris.errors import HarisError
from haris.label.coco_merge import merge_shards
from haris.label.coco_shard import categories, shard_counts, shard_document
from haris.label.expression_table import ExpressionTable
from haris.label.label_manifest import LabelManifest
from haris.label.shard_collector import ShardCollector
from haris.runtime.answer_json import encode_prediction
from haris.runtime.prediction import Prediction

IMAGES = [Path(f"/data/img_{index}.png") for index in range(5)]
TABLE = ExpressionTable([["the cat", "the dog"]] * 5)


def _mask(index: int, expression: int) -> np.ndarray:
    """A distinct mask per image and expression; image 1's second expression selects nothing."""
    mask = np.zeros((6, 8), bool)
    if (index, expression) != (1, 1):
        mask[index : index + 2, expression : expression + 3 + index] = True
    return mask


def _rows(indices: list[int]) -> dict[str, np.ndarray]:
    """A batch as the actors return it (image 3 unreadable)."""
    answers = {index: [Prediction(text, _mask(index, k), np.zeros((0, 0)), 0.5) for k, text in enumerate(TABLE.per_image[0])] for index in indices}
    results = ["" if index == 3 else json.dumps([encode_prediction(prediction) for prediction in answers[index]]) for index in indices]
    return {
        "index": np.array(indices),
        "shard": np.array([index // 3 for index in indices]),
        "height": np.array([0 if index == 3 else 6 for index in indices]),
        "width": np.array([0 if index == 3 else 8 for index in indices]),
        "results": np.array(results, dtype=object),
        "error": np.array(["bad file" if index == 3 else "" for index in indices], dtype=object),
        "node": np.array(["node-a"] * len(indices), dtype=object),
        "process": np.array([7] * len(indices)),
        "engine": np.array(["onnxruntime:fp32 on cpu"] * len(indices), dtype=object),
    }


def test_a_shard_is_handed_over_once_when_all_its_images_arrived_duplicates_kept_once():
    collector = ShardCollector({0: 3, 1: 2})
    assert collector.add(_rows([4, 0])) == []
    assert collector.add(_rows([0, 1])) == []  # image 0 again (a retried task): still one row
    ((shard, rows),) = collector.add(_rows([2]))
    assert shard == 0 and sorted(row["index"] for row in rows) == [0, 1, 2]
    assert collector.add(_rows([1, 3]))[0][0] == 1  # image 1 late for shard 0: ignored; shard 1 complete
    assert collector.unfinished() == []


def test_shards_and_their_merge_are_coco_files_whose_masks_decode(tmp_path):
    collector = ShardCollector({0: 3, 1: 2})
    done = collector.add(_rows([0, 1, 2, 3, 4]))
    files = []
    for shard, rows in done:
        document = shard_document(rows, IMAGES, TABLE, {"shard": shard})
        files.append(tmp_path / f"shard-{shard}.json")
        write_atomically(files[-1], json.dumps(document).encode())
        if shard == 1:
            counts = shard_counts(document, rows)
            assert counts == {"labelled": 1, "unreadable": 1, "annotations": 2, "nodes": {"node-a": 2}, "engines": {"onnxruntime:fp32 on cpu": 2}}
            assert document["unreadable"] == [{"file_name": "/data/img_3.png", "reason": "bad file"}]
    merged = COCO(str(merge_shards(files, tmp_path, {"description": "test"}, categories(TABLE))))
    assert sorted(merged.getImgIds()) == [1, 2, 3, 5]  # image ids are positions + 1; image 3 (id 4) unreadable
    assert [category["name"] for category in merged.loadCats(merged.getCatIds())] == ["the cat", "the dog"]
    annotations = merged.loadAnns(merged.getAnnIds())
    assert len(annotations) == 7  # 4 images x 2 expressions, less image 1's empty mask
    for annotation in annotations:
        index, expression = annotation["image_id"] - 1, annotation["category_id"] - 1
        assert annotation["id"] == 1 + 2 * index + expression  # fixed by position, whichever run wrote the shard
        assert np.array_equal(decode(annotation["segmentation"]).astype(bool), _mask(index, expression))
        assert np.array_equal(merged.annToMask(annotation).astype(bool), _mask(index, expression))
        assert annotation["area"] == _mask(index, expression).sum() and annotation["bbox"][2:] == [3 + index, 2]


def test_the_manifest_resumes_what_is_not_done_and_refuses_another_run(tmp_path):
    run = {"bundle": "/b", "images": 5, "precision": "fp32", "shard_size": 2}
    manifest = LabelManifest.plan(tmp_path, run, {"images": "imgs"}, 5, 2)
    manifest.save()
    assert [(shard["first"], shard["count"]) for shard in manifest.shards] == [(0, 2), (2, 2), (4, 1)]
    write_atomically(manifest.shard_path(1), b"{}")
    manifest.mark_done(1, {"labelled": 2, "unreadable": 0, "annotations": 4})
    again = LabelManifest.load(tmp_path)
    assert again.pending() == [0, 2] and again.totals()["annotations"] == 4
    manifest.shard_path(1).unlink()
    assert again.pending() == [0, 1, 2]  # marked done but gone: labelled again
    again.check_same_run(dict(run))
    with pytest.raises(HarisError, match=r"precision: 'fp32' there, 'fp16' now; shard_size: 2 there, 3 now.*give another --out"):
        again.check_same_run({**run, "precision": "fp16", "shard_size": 3})
    with pytest.raises(HarisError, match=r"\(other expressions \(sha256 aaaaaaaaaaaa there, bbbbbbbbbbbb now\)\)"):
        LabelManifest.plan(tmp_path, {"expressions_sha256": "a" * 64}, {}, 1, 1).check_same_run({"expressions_sha256": "b" * 64})
