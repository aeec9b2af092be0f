"""The synthetic dataset: deterministic files in the refer format, masks that match what is drawn."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest

from haris.data.refer_dataset import ReferDataset
from haris.data.safe_unpickler import load_pickle_safely
from haris.data.synthetic import write_synthetic_dataset
from haris.data.synthetic.vocabulary import COLOURS

# pycocotools (not HARIS) trips this numpy 2 warning on each decode; mask_rasterizer silences it
# at import, but pytest resets warning filters per test.

SPLITS = ("train", "val", "testA", "testB")


def write(folder, seed, workers=1):
    summary = write_synthetic_dataset(folder, num_images=12, seed=seed, workers=workers, progress=False)
    return summary, {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_same_seed_gives_identical_bytes_whatever_the_workers_and_another_seed_differs(tmp_path):
    summary, files = write(tmp_path / "a", seed=5)
    assert write(tmp_path / "b", seed=5, workers=2) == (summary, files)
    other_summary, other_files = write(tmp_path / "c", seed=6)
    names = [f"images/img_{i:06d}.png" for i in range(1, 13)] + ["instances.json", "refs(unc).p"]
    assert sorted(files) == sorted(other_files) == names
    assert all(files[name] != other_files[name] for name in files)
    assert sum(summary[split]["images"] for split in SPLITS) == 12


@pytest.mark.parametrize("split", SPLITS)
def test_every_split_reads_and_is_not_empty(synthetic_folder, split, caplog):
    caplog.set_level(logging.INFO, logger="haris")
    dataset = ReferDataset(synthetic_folder, split)
    lines = caplog.messages
    assert dataset.records and dataset.skipped == {}
    assert all(1 <= len(r.sentences) <= 3 and len(set(r.sentences)) == len(r.sentences) for r in dataset.records)
    assert lines[0].startswith(f"{synthetic_folder.name} unc {split}: {len(dataset.records)} refs")


def test_refs_name_a_file_that_is_not_the_image(synthetic_folder):
    instances = json.loads((synthetic_folder / "instances.json").read_text())
    images = {image["id"]: image["file_name"] for image in instances["images"]}
    for ref in load_pickle_safely(synthetic_folder / "refs(unc).p"):
        assert ref["file_name"] != images[ref["image_id"]]
        assert not (synthetic_folder / "images" / ref["file_name"]).exists()


def test_polygons_and_rle_lists_are_written_in_refer_layouts(synthetic_folder):
    annotations = json.loads((synthetic_folder / "instances.json").read_text())["annotations"]
    kinds = {(a["attributes"]["shape"] == "circle", type(a["segmentation"]).__name__, type(a["segmentation"][0]).__name__) for a in annotations}
    assert kinds == {(True, "list", "dict"), (False, "list", "list")}  # circles: [RLE]; the rest: [polygon]


def test_masks_equal_the_annotations_and_what_is_drawn(synthetic_folder):
    annotations = {a["id"]: a for a in json.loads((synthetic_folder / "instances.json").read_text())["annotations"]}
    dataset = ReferDataset(synthetic_folder, "val")
    for record in dataset.records:
        annotation, mask, image = annotations[record.ann_id], dataset.load_mask(record), dataset.load_image(record)
        rows, columns = np.nonzero(mask)
        assert mask.sum() == annotation["area"] > 0
        assert [columns.min(), rows.min(), np.ptp(columns) + 1, np.ptp(rows) + 1] == annotation["bbox"]
        difference = np.abs(image.astype(int) - np.array(COLOURS[annotation["attributes"]["colour"]]))
        assert difference[mask].max() <= 16  # the object's colour, lightly shaded, on every mask pixel
        assert (difference[ring_around(mask)].max(axis=1) > 30).all()  # and background right outside


def ring_around(mask: np.ndarray) -> np.ndarray:
    """Pixels 4-adjacent to the mask but not in it."""
    grown = mask.copy()
    grown[1:] |= mask[:-1]
    grown[:-1] |= mask[1:]
    grown[:, 1:] |= mask[:, :-1]
    grown[:, :-1] |= mask[:, 1:]
    return grown & ~mask
