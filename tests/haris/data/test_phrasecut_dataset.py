"""PhraseCut loader on a tiny dataset in the official format, masks checked pixel by pixel.

Expected pixels follow the official evaluator (polygons_to_mask): points truncated with int(),
each polygon drawn with PIL fill and outline (so integer vertices and edges are inside), polygons
of fewer than 2 points skipped, and the task mask the union over all instances' polygons.
"""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest
from PIL import Image

from haris.data.phrasecut_dataset import PhraseCutDataset, PhraseCutRecord
from haris.errors import DataError

IMAGES = [
    {"image_id": 10, "width": 8, "height": 7, "split": "test"},
    {"image_id": 11, "width": 6, "height": 5, "split": "test"},
    {"image_id": 12, "width": 6, "height": 5, "split": "test"},  # its file is never written
]
MULTI_INSTANCE = {
    "task_id": "10__1",
    "image_id": 10,
    "phrase": "boxes on the left",
    "instance_boxes": [[0, 1, 4, 6], [5, 4, 3, 3], [2, 2, 3, 2]],
    "Polygons": [
        [  # instance 1: a rectangle, a right triangle and a 1-point polygon the evaluator skips
            [[1, 1], [3, 1], [3, 2], [1, 2]],
            [[0, 4], [2, 4], [0, 6]],
            [[3, 5]],
        ],
        [[[5.9, 4.2], [7, 4.2], [7, 6.99], [5.9, 6.99]]],  # instance 2: truncated to (5..7, 4..6)
        [[[2, 2], [4, 2], [4, 3], [2, 3]]],  # instance 3 overlaps instance 1
    ],
}
LINE = {
    "task_id": "11__2",
    "image_id": 11,
    "phrase": "the wire",
    "instance_boxes": [[0, 0, 5, 1]],
    "Polygons": [[[[0, 0], [4, 0]]]],  # 2 points: the evaluator keeps it and PIL draws a line
}


def _expected_multi_instance() -> np.ndarray:
    mask = np.zeros((7, 8), dtype=bool)
    mask[1:3, 1:4] = True  # rectangle x 1..3, y 1..2, edges included
    mask[2:4, 2:5] = True  # overlapping rectangle x 2..4, y 2..3
    mask[4, 0:3] = mask[5, 0:2] = mask[6, 0] = True  # triangle: x + (y - 4) <= 2
    mask[4:7, 5:8] = True  # truncated rectangle x 5..7, y 4..6
    return mask


def _write(root, tasks, images=IMAGES, image_files=(10, 11)):
    (root / "images").mkdir(parents=True, exist_ok=True)
    (root / "refer_test.json").write_text(json.dumps(tasks))
    (root / "image_data_split.json").write_text(json.dumps(images))
    sizes = {info["image_id"]: (info["width"], info["height"]) for info in images}
    for image_id in image_files:
        Image.new("RGB", sizes[image_id], (200, 30, 30)).save(root / "images" / f"{image_id}.jpg")
    return root


def test_records_counts_and_log_line(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="haris")
    dataset = PhraseCutDataset(_write(tmp_path, [MULTI_INSTANCE, LINE]))
    lines = caplog.messages
    assert len(dataset.records) == 2 and dataset.expressions == [(0, 0), (1, 0)]
    assert dataset.skipped == {}
    assert lines == ["PhraseCut test: 2 expressions on 2 images"]
    record = dataset.records[0]
    assert isinstance(record, PhraseCutRecord)
    assert (record.ref_id, record.task_id, record.image_id) == (0, "10__1", 10)
    assert (record.file_name, record.height, record.width) == ("10.jpg", 7, 8)
    assert record.sentences == ("boxes on the left",)
    assert len(record.polygons) == 4  # the 1-point polygon is gone


def test_multi_instance_multi_polygon_mask(tmp_path):
    dataset = PhraseCutDataset(_write(tmp_path, [MULTI_INSTANCE]))
    mask = dataset.load_mask(dataset.records[0])
    assert mask.dtype == np.bool_ and mask.shape == (7, 8)
    np.testing.assert_array_equal(mask, _expected_multi_instance())


def test_two_point_polygon_is_a_line(tmp_path):
    dataset = PhraseCutDataset(_write(tmp_path, [LINE]))
    expected = np.zeros((5, 6), dtype=bool)
    expected[0, 0:5] = True
    np.testing.assert_array_equal(dataset.load_mask(dataset.records[0]), expected)


def test_load_image_is_rgb_at_original_size(tmp_path):
    dataset = PhraseCutDataset(_write(tmp_path, [MULTI_INSTANCE]))
    image = dataset.load_image(dataset.records[0])
    assert image.dtype == np.uint8 and image.shape == (7, 8, 3)
    assert image[..., 0].mean() > image[..., 1].mean()  # the red survives JPEG


def test_image_of_the_wrong_size_is_refused(tmp_path):
    root = _write(tmp_path, [MULTI_INSTANCE])
    Image.new("RGB", (3, 3)).save(root / "images" / "10.jpg")
    dataset = PhraseCutDataset(root)
    with pytest.raises(DataError, match=r"10\.jpg: the image of task .* is 3x3 pixels, but .* says 8x7"):
        dataset.load_image(dataset.records[0])


BAD_TASKS = {
    "missing image": (dict(LINE, task_id="12__3", image_id=12), r"12\.jpg does not exist"),
    "no image info": (dict(LINE, task_id="99__4", image_id=99), "image 99 is not in"),
    "empty phrase": (dict(LINE, task_id="11__5", phrase="  "), "empty phrase"),
    "no polygons": (dict(LINE, task_id="11__6", Polygons=[[[[1, 1]]], []]), "no polygon"),
    "bad polygons": (dict(LINE, task_id="11__7", Polygons=[[[[1, 2, 3], [4, 5, 6]]]]), "malformed"),
}


@pytest.mark.parametrize("reason", BAD_TASKS)
def test_bad_task_raises_naming_the_task(tmp_path, reason):
    task, message = BAD_TASKS[reason]
    with pytest.raises(DataError, match=message) as raised:
        PhraseCutDataset(_write(tmp_path, [LINE, task]))
    assert task["task_id"] in str(raised.value) and "refer_test.json" in str(raised.value)


def test_bad_tasks_are_skipped_and_counted(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="haris")
    bad = [task for task, _ in BAD_TASKS.values()]
    root = _write(tmp_path, [*bad, MULTI_INSTANCE, LINE])
    dataset = PhraseCutDataset(root, skip_bad=True)
    lines = caplog.messages
    assert [record.task_id for record in dataset.records] == ["10__1", "11__2"]
    assert [record.ref_id for record in dataset.records] == [5, 6]  # positions in the file
    assert dataset.skipped == dict.fromkeys(BAD_TASKS, 1)
    assert lines[0].startswith("PhraseCut test: 2 expressions on 2 images, skipped bad polygons 1")


def test_missing_refer_file_is_named(tmp_path):
    with pytest.raises(DataError, match=r"refer_val\.json does not exist"):
        PhraseCutDataset(_write(tmp_path, [LINE]), split="val")
