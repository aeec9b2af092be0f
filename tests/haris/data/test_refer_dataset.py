"""ReferDataset on a tiny refer-format folder whose masks are derived by hand."""

from __future__ import annotations

import numpy as np
import pytest
from logged_lines import logged_lines
from PIL import Image

from haris.data.refer_dataset import ReferDataset, ReferRecord
from haris.errors import DataError

# pycocotools (not HARIS) trips this numpy 2 warning on each decode; mask_rasterizer silences it
# at import, but pytest resets warning filters per test.


def load(folder, split, **kwargs):
    """The dataset and the lines it logged."""
    with logged_lines("haris.data.refer_dataset") as lines:
        dataset = ReferDataset(folder, split, **kwargs)
    return dataset, lines


def mask_from_rows(rows: list[str]) -> np.ndarray:
    return np.array([[char == "#" for char in row] for row in rows])


def test_train_split_records_sentences_and_counts_line(refer_folder):
    dataset, lines = load(refer_folder, "train")
    assert [r.ref_id for r in dataset.records] == [1, 5]
    assert dataset.records[0].sentences == ("the left red thing", "big one")  # 'sent', whitespace collapsed
    assert dataset.records[1].sentences == ("block at the bottom right",)
    assert dataset.expressions == [(0, 0), (0, 1), (1, 0)]
    assert dataset.skipped == {}
    assert lines == [f"tinyrefer unc train: 2 refs, 3 sentences (images in {refer_folder / 'images'})"]


def test_record_takes_file_name_and_size_from_instances_not_from_the_ref(refer_folder):
    record = load(refer_folder, "testA")[0].records[0]
    assert record == ReferRecord(3, 201, 2, "def.png", 6, 7, ("small blob", "blob on the left"), {"size": [6, 7], "counts": [7, 2, 4, 3, 26]})


def test_every_split_holds_its_refs(refer_folder):
    refs_by_split = {split: [r.ref_id for r in load(refer_folder, split)[0].records] for split in ("train", "val", "testA", "testB")}
    assert refs_by_split == {"train": [1, 5], "val": [2], "testA": [3], "testB": [4]}


def test_unknown_split_lists_the_splits_present(refer_folder):
    with pytest.raises(DataError, match=r"no split 'test'.*testA, testB, train, val"):
        load(refer_folder, "test")


def test_overlapping_polygon_parts_are_one_union(refer_folder):
    dataset = load(refer_folder, "train")[0]
    mask = dataset.load_mask(dataset.records[0])
    expected = mask_from_rows(
        [
            "..........",
            ".####.....",
            ".######...",
            ".######...",
            "...####...",
            "...####...",
            "..........",
            "..........",
        ]
    )
    assert mask.dtype == bool and mask.shape == (8, 10)
    np.testing.assert_array_equal(mask, expected)


def test_separate_polygons_make_one_object(refer_folder):
    dataset = load(refer_folder, "val")[0]
    expected = mask_from_rows(
        [
            "........##",
            "........##",
            "..........",
            "..........",
            "..........",
            "..........",
            "##........",
            "##........",
        ]
    )
    np.testing.assert_array_equal(dataset.load_mask(dataset.records[0]), expected)


def test_uncompressed_rle_with_counts_list(refer_folder):
    dataset = load(refer_folder, "testA")[0]
    expected = mask_from_rows(
        [
            ".......",
            ".##....",
            ".##....",
            "..#....",
            ".......",
            ".......",
        ]
    )
    np.testing.assert_array_equal(dataset.load_mask(dataset.records[0]), expected)


def test_compressed_rle_with_counts_string(refer_folder):
    dataset = load(refer_folder, "testB")[0]
    expected = mask_from_rows(
        [
            ".......",
            ".......",
            ".......",
            "....###",
            "....###",
            ".......",
        ]
    )
    np.testing.assert_array_equal(dataset.load_mask(dataset.records[0]), expected)


def test_load_image_is_rgb_uint8_at_instances_size(refer_folder):
    dataset = load(refer_folder, "train")[0]
    image = dataset.load_image(dataset.records[0])
    assert image.dtype == np.uint8 and image.shape == (8, 10, 3)
    assert (image == 40).all()


def test_image_dir_can_live_elsewhere(refer_folder, tmp_path):
    moved = tmp_path / "train2014"
    (refer_folder / "images").rename(moved)
    dataset, lines = load(refer_folder, "val", image_dir=moved)
    assert dataset.load_image(dataset.records[0]).shape == (8, 10, 3)
    assert f"(images in {moved})" in lines[0]


def test_image_whose_size_differs_from_instances_is_an_error(refer_folder):
    Image.fromarray(np.zeros((8, 9, 3), dtype=np.uint8)).save(refer_folder / "images" / "abc.png")
    dataset = load(refer_folder, "val")[0]
    with pytest.raises(DataError, match=r"abc\.png: the image of ref 2 is 9x8 pixels, but .*instances\.json says 10x8"):
        dataset.load_image(dataset.records[0])


def test_missing_annotation_files_are_named(tmp_path):
    with pytest.raises(DataError, match=r"refs\(umd\)\.p does not exist"):
        ReferDataset(tmp_path, "train", split_by="umd")
