"""Fixtures of the data tests: a tiny refer-format folder written by hand, and a small synthetic dataset."""

from __future__ import annotations

import json
import pickle
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from pycocotools import mask as coco_mask

# Column-major runs (background first) of a 6 x 7 mask: pixels (1,1), (2,1), (1,2), (2,2), (3,2).
LIST_RLE_COUNTS = [7, 2, 4, 3, 26]
STRING_RLE_BLOCK = (slice(3, 5), slice(4, 7))  # rows 3-4, columns 4-6 of the same 6 x 7 image


def string_rle() -> dict:
    block = np.zeros((6, 7), dtype=np.uint8, order="F")
    block[STRING_RLE_BLOCK] = 1
    rle = coco_mask.encode(block)
    return {"size": rle["size"], "counts": rle["counts"].decode("ascii")}


def sentence(text: str, sent_id: int) -> dict:
    return {"sent": text, "raw": text.capitalize() + "!", "tokens": text.split(), "sent_id": sent_id}


def fixture_content() -> dict:
    """The annotation files' content: two images, four annotations, five refs over four splits."""
    images = [
        {"id": 1, "file_name": "abc.png", "height": 8, "width": 10},
        {"id": 2, "file_name": "def.png", "height": 6, "width": 7},
    ]
    annotations = [
        # Two overlapping rectangles: columns 1-4 x rows 1-3, and columns 3-6 x rows 2-5.
        {"id": 101, "image_id": 1, "segmentation": [[1, 1, 5, 1, 5, 4, 1, 4], [3, 2, 7, 2, 7, 6, 3, 6]]},
        # Two separate corners: columns 0-1 x rows 6-7, and columns 8-9 x rows 0-1.
        {"id": 102, "image_id": 1, "segmentation": [[0, 6, 2, 6, 2, 8, 0, 8], [8, 0, 10, 0, 10, 2, 8, 2]]},
        {"id": 201, "image_id": 2, "segmentation": {"size": [6, 7], "counts": LIST_RLE_COUNTS}},
        {"id": 202, "image_id": 2, "segmentation": string_rle()},
    ]
    for annotation in annotations:
        annotation.update({"area": 1, "bbox": [0, 0, 1, 1], "category_id": 1, "iscrowd": 0})
    refs = [
        _ref(1, 101, 1, "train", [sentence("the  left red thing", 1), sentence("big one", 2)]),
        _ref(2, 102, 1, "val", [sentence("two corners", 3)]),
        _ref(3, 201, 2, "testA", [sentence("small blob", 4), sentence("blob on the left", 5)]),
        _ref(4, 202, 2, "testB", [sentence("the block", 6)]),
        _ref(5, 202, 2, "train", [sentence("block at the bottom right", 7)]),
    ]
    categories = [{"id": 1, "name": "thing", "supercategory": "thing"}]
    return {"refs": refs, "instances": {"images": images, "annotations": annotations, "categories": categories}}


def _ref(ref_id: int, ann_id: int, image_id: int, split: str, sentences: list[dict]) -> dict:
    # The ref's own file_name names a file that does not exist, as RefCOCO's do.
    return {
        "ref_id": ref_id,
        "ann_id": ann_id,
        "image_id": image_id,
        "split": split,
        "sentences": sentences,
        "sent_ids": [s["sent_id"] for s in sentences],
        "category_id": 1,
        "file_name": f"COCO_train2014_{image_id:012d}_{ref_id}.jpg",
    }


def write_refer_folder(folder: Path, content: dict) -> Path:
    """Write refs(unc).p (pickle protocol 2, as refer's), instances.json and an image per entry."""
    (folder / "images").mkdir(parents=True, exist_ok=True)
    with open(folder / "refs(unc).p", "wb") as handle:
        pickle.dump(content["refs"], handle, protocol=2)
    (folder / "instances.json").write_text(json.dumps(content["instances"]), encoding="utf-8")
    for image in content["instances"]["images"]:
        pixels = np.full((image["height"], image["width"], 3), image["id"] * 40, dtype=np.uint8)
        Image.fromarray(pixels).save(folder / "images" / image["file_name"])
    return folder


@pytest.fixture
def refer_folder(tmp_path: Path) -> Path:
    return write_refer_folder(tmp_path / "tinyrefer", fixture_content())


@pytest.fixture
def edited_refer_folder(tmp_path: Path) -> Callable[[Callable[[dict], None]], Path]:
    """Write the fixture after `edit(content)` has changed its refs or instances."""

    def write(edit: Callable[[dict], None]) -> Path:
        content = fixture_content()
        edit(content)
        return write_refer_folder(tmp_path / "tinyrefer", content)

    return write


@pytest.fixture(scope="session")
def synthetic_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from haris.data.synthetic import write_synthetic_dataset

    folder = tmp_path_factory.mktemp("synthetic")
    write_synthetic_dataset(folder, num_images=48, seed=3, progress=False)
    return folder
