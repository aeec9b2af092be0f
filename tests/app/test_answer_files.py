"""The downloads: a zip of one PNG mask per expression, the answer JSON, a fresh folder per answer."""

from __future__ import annotations

import io
import json
import os
import time
import zipfile

import numpy as np
from app_answers import band_answer, band_masks
from PIL import Image

from haris.app import answer_files
from haris.app.answer_files import write_answer_files


def test_zip_holds_one_png_mask_per_expression_and_the_json_is_the_answer(tmp_path):
    answer = band_answer((40, 64, 3), ["the red circle", "the Small square!"])
    masks = band_masks(40, 64, 2)
    zip_path, json_path = write_answer_files(tmp_path, answer, masks)
    assert json.loads(json_path.read_text()) == answer
    with zipfile.ZipFile(zip_path) as archive:
        names = archive.namelist()
        assert names == ["01_the-red-circle.png", "02_the-small-square.png"]
        for name, mask in zip(names, masks):
            with Image.open(io.BytesIO(archive.read(name))) as png:
                assert png.format == "PNG" and png.mode == "L"
                assert np.array_equal(np.asarray(png) == 255, mask)


def test_each_answer_gets_its_own_folder_and_old_ones_are_removed(tmp_path):
    answer = band_answer((8, 8, 3), ["a"])
    first = write_answer_files(tmp_path, answer, band_masks(8, 8, 1))[0].parent
    old = time.time() - answer_files.KEEP_SECONDS - 10
    os.utime(first, (old, old))
    second = write_answer_files(tmp_path, answer, band_masks(8, 8, 1))[0].parent
    assert second != first and second.is_dir() and not first.exists()
