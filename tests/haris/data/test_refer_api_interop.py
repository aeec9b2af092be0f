"""Interop with the refer API both ways: it reads what `haris data synth` writes, and our loader reads
every layout it reads, with the same masks (tests/support/refer_api.py is its semantics)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from pycocotools import mask as coco_mask
from refer_api import refer_get_mask

from haris.data.refer_dataset import ReferDataset

HEIGHT, WIDTH = 6, 7


def block_mask(rows: slice, columns: slice) -> np.ndarray:
    mask = np.zeros((HEIGHT, WIDTH), dtype=np.uint8, order="F")
    mask[rows, columns] = 1
    return mask


def compressed_rle(mask: np.ndarray) -> dict:
    rle = coco_mask.encode(np.asfortranarray(mask))
    return {"size": rle["size"], "counts": rle["counts"].decode("ascii")}


def uncompressed_rle(mask: np.ndarray) -> dict:
    """Column-major run lengths, background first, as RefCLEF's annotations hold them."""
    flat = mask.flatten(order="F").astype(int)
    changes = np.flatnonzero(np.diff(np.concatenate([[0], flat, [1 - flat[-1]]])))
    return {"size": [HEIGHT, WIDTH], "counts": np.diff(np.concatenate([[0], changes])).tolist()}


# Two overlapping blocks and one apart, so a union differs from any one part.
PARTS = [block_mask(slice(0, 3), slice(0, 3)), block_mask(slice(2, 4), slice(1, 5)), block_mask(slice(5, 6), slice(6, 7))]
LAYOUTS = {
    "multi-polygon": [[0, 0, 3, 0, 3, 3, 0, 3], [1, 2, 5, 2, 5, 4, 1, 4], [6, 5, 7, 5, 7, 6, 6, 6]],
    "list of uncompressed RLEs": [uncompressed_rle(part) for part in PARTS],
    "list of compressed RLEs": [compressed_rle(part) for part in PARTS],
}


def test_uncompressed_fixture_runs_rebuild_the_parts():
    for part, rle in zip(PARTS, LAYOUTS["list of uncompressed RLEs"]):
        assert np.array_equal(coco_mask.decode(coco_mask.frPyObjects(rle, HEIGHT, WIDTH)), part)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("split", ["testA", "testB"])
def test_our_loader_reads_every_refer_layout_with_the_refer_mask(edited_refer_folder, layout, split):
    def use_layout(content):
        annotation = next(a for a in content["instances"]["annotations"] if a["id"] == 201)  # testA's ref
        annotation["segmentation"] = LAYOUTS[layout]
        for ref in content["refs"]:
            ref["split"] = split if ref["ann_id"] == 201 else ("train" if ref["split"] in ("testA", "testB") else ref["split"])

    folder = edited_refer_folder(use_layout)
    dataset = ReferDataset(folder, split)
    [record] = dataset.records
    ours = dataset.load_mask(record)
    theirs = refer_get_mask(LAYOUTS[layout], HEIGHT, WIDTH)
    assert theirs.max() == 2  # the overlap is counted twice by getMask's sum
    assert np.array_equal(ours, theirs > 0)
    assert ours.sum() == np.logical_or.reduce(PARTS).sum()


def test_refer_api_cannot_read_a_bare_rle_dict_which_we_still_read(edited_refer_folder):
    bare = compressed_rle(PARTS[0])
    with pytest.raises(KeyError):
        refer_get_mask(bare, HEIGHT, WIDTH)

    def use_bare(content):
        content["instances"]["annotations"][2]["segmentation"] = bare  # annotation 201 (COCO's crowd layout)

    dataset = ReferDataset(edited_refer_folder(use_bare), "testA")
    assert np.array_equal(dataset.load_mask(dataset.records[0]), PARTS[0].astype(bool))


def test_a_list_mixing_polygons_and_rles_is_refused_by_name(edited_refer_folder):
    def mix(content):
        content["instances"]["annotations"][2]["segmentation"] = [LAYOUTS["multi-polygon"][0], compressed_rle(PARTS[1])]

    with pytest.raises(Exception, match="polygons .* or RLE dicts, not a mix"):
        ReferDataset(edited_refer_folder(mix), "testA")


@pytest.mark.parametrize("split", ["train", "val", "testA", "testB"])
def test_refer_api_reads_every_synthetic_annotation_as_we_do(synthetic_folder, split):
    instances = json.loads((synthetic_folder / "instances.json").read_text())
    images = {image["id"]: image for image in instances["images"]}
    annotations = {a["id"]: a for a in instances["annotations"]}
    dataset = ReferDataset(synthetic_folder, split)
    layouts = set()
    for record in dataset.records:
        segmentation, image = annotations[record.ann_id]["segmentation"], images[record.image_id]
        layouts.add(type(segmentation[0]).__name__)
        theirs = refer_get_mask(segmentation, image["height"], image["width"])
        assert np.array_equal(dataset.load_mask(record), theirs > 0)
    assert layouts <= {"list", "dict"} and dataset.records
