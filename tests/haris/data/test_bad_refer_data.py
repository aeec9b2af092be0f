"""Bad data: a DataError naming the file and the ref by default; skipped and counted with skip_bad."""

from __future__ import annotations

import pytest
from logged_lines import logged_lines

from haris.data.refer_dataset import ReferDataset
from haris.errors import DataError


def load(folder, split="testA", skip_bad=False):
    with logged_lines("haris.data.refer_dataset") as lines:
        dataset = ReferDataset(folder, split, skip_bad=skip_bad)
    return dataset, lines


def set_segmentation(segmentation):
    def edit(content):
        content["instances"]["annotations"][2]["segmentation"] = segmentation  # annotation 201, ref 3

    return edit


def set_sentences(*texts):
    def edit(content):
        content["refs"][2]["sentences"] = [{"sent": text, "sent_id": 40 + i} for i, text in enumerate(texts)]

    return edit


def set_ann_id(content):
    content["refs"][2]["ann_id"] = 999


EMPTY, WHERE = "empty segmentation", r"instances\.json: annotation 201 of ref 3"
BAD_REFS = {  # case: (edit, reason counted when skipping, error message)
    "no polygons": (set_segmentation([]), EMPTY, WHERE + " has an empty segmentation"),
    "polygon of two points": (set_segmentation([[1, 1, 4, 4]]), EMPTY, WHERE + " has an empty segmentation"),
    "zero-area list RLE": (set_segmentation({"size": [6, 7], "counts": [42]}), EMPTY, WHERE),
    "zero-area string RLE": (set_segmentation({"size": [6, 7], "counts": "Z1"}), EMPTY, WHERE),
    "RLE of another size": (set_segmentation({"size": [7, 6], "counts": [42]}), "malformed segmentation", WHERE + r" .*RLE size \[7, 6\]"),
    "no sentences": (set_sentences(), "no sentences", r"refs\(unc\)\.p: ref 3 has no sentences"),
    "unknown annotation": (set_ann_id, "unknown annotation or image", r"instances\.json has no annotation 999, which ref 3 names"),
}


@pytest.mark.parametrize("case", BAD_REFS)
def test_bad_ref_is_an_error_naming_file_and_ref(edited_refer_folder, case):
    edit, _, message = BAD_REFS[case]
    with pytest.raises(DataError, match=message):
        load(edited_refer_folder(edit))


@pytest.mark.parametrize("case", BAD_REFS)
def test_bad_ref_is_skipped_and_counted(edited_refer_folder, case):
    edit, reason, _ = BAD_REFS[case]
    dataset, lines = load(edited_refer_folder(edit), skip_bad=True)
    assert dataset.records == [] and dataset.expressions == []
    assert dataset.skipped == {reason: 1}
    assert lines[0].endswith(f"testA: 0 refs, 0 sentences (images in {dataset.image_dir}); skipped: {reason} 1")


def test_sentence_without_words_is_an_error(edited_refer_folder):
    with pytest.raises(DataError, match=r"refs\(unc\)\.p: ref 3 has sentence 40 with no words"):
        load(edited_refer_folder(set_sentences(" ?! ", "small blob")))


def test_sentence_without_words_is_dropped_when_skipping(edited_refer_folder):
    dataset, lines = load(edited_refer_folder(set_sentences(" ?! ", "small blob", "")), skip_bad=True)
    assert dataset.records[0].sentences == ("small blob",)
    assert dataset.skipped == {"blank sentence": 2}
    assert lines[0].endswith(f"1 refs, 1 sentences (images in {dataset.image_dir}); skipped: blank sentence 2")


def test_ref_left_without_sentences_is_skipped(edited_refer_folder):
    dataset = load(edited_refer_folder(set_sentences("", "   ")), skip_bad=True)[0]
    assert dataset.records == []
    assert dataset.skipped == {"blank sentence": 2, "no sentences": 1}


def test_missing_image_is_an_error_naming_it(refer_folder):
    (refer_folder / "images" / "def.png").unlink()
    with pytest.raises(DataError, match=r"images/def\.png: the image of ref 3 does not exist"):
        load(refer_folder)


def test_missing_image_skips_every_ref_on_it(refer_folder):
    (refer_folder / "images" / "def.png").unlink()
    dataset = load(refer_folder, split="train", skip_bad=True)[0]
    assert [record.ref_id for record in dataset.records] == [1]
    assert dataset.skipped == {"missing image": 1}


def test_corrupt_image_is_found_by_load_image(refer_folder):
    (refer_folder / "images" / "def.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    dataset = load(refer_folder, skip_bad=True)[0]  # construction only stats the file
    with pytest.raises(DataError, match=r"images/def\.png: cannot read the image of ref 3"):
        dataset.load_image(dataset.records[0])
