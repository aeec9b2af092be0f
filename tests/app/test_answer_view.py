"""Drawing an answer: the predictions' masks (refused for another image size), one colour per
expression with a legend, table rows."""

from __future__ import annotations

import numpy as np
import pytest
from app_answers import band_answer, band_masks, band_predictions

from haris.app.answer_view import TABLE_HEADERS, draw_answer, extract_masks, table_rows
from haris.errors import HarisError
from haris.runtime.mask_overlay import mask_colour

GREY = 100


def _image(height: int = 40, width: int = 64) -> np.ndarray:
    return np.full((height, width, 3), GREY, np.uint8)


def test_the_masks_shown_are_the_predictions_own():
    for shown, expected in zip(extract_masks(band_predictions((40, 64, 3), ["a", "b", "c"]), (40, 64, 3)), band_masks(40, 64, 3)):
        assert shown.dtype == bool and np.array_equal(shown, expected)


def test_a_mask_for_another_image_size_is_refused():
    with pytest.raises(HarisError, match="the mask of 'a' is 40 x 64, but the image shown is 64 x 40"):
        extract_masks(band_predictions((40, 64, 3), ["a"]), (64, 40, 3))


def test_each_mask_gets_its_colour_and_the_legend_lies_under_the_image():
    image = _image()
    answer = band_answer(image.shape, ["first", "second"])
    picture = np.asarray(draw_answer(image, answer, band_masks(40, 64, 2)))
    assert picture.shape[1] == 64 and picture.shape[0] > 40  # same width, a legend band below
    shown = picture[:40].astype(int)
    red, green = (np.array(mask_colour(index)[1]) for index in (0, 1))
    assert np.abs(shown[4, 10] - (GREY + 0.45 * (red - GREY))).max() <= 1  # only mask 0 (rows 0-11, inside its edge)
    assert np.abs(shown[16, 10] - (GREY + 0.45 * (green - GREY))).max() <= 1  # only mask 1 (rows 12-19)
    assert (shown[30, 50] == GREY).all()  # no mask
    legend = picture[40:].reshape(-1, 3)
    for colour in (red, green):
        assert (legend == colour).all(axis=1).any()  # a swatch of each colour


def test_table_rows_number_and_colour_the_expressions_as_the_legend_does():
    answer = band_answer((40, 64, 3), ["first", "second"])
    rows = table_rows(answer)
    assert len(TABLE_HEADERS) == len(rows[0])
    assert rows[0] == [1, "red", "first", 0.5, 12 * 32, "0, 0, 32, 12"]
    assert rows[1][:4] == [2, "green", "second", 0.6] and rows[1][5] == "0, 8, 32, 12"
