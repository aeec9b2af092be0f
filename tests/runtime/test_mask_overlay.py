"""Overlay PNGs: valid files of the expected size, prediction tinted, ground truth outlined."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from haris.runtime.mask_overlay import write_overlay, write_side_by_side

GREY = 128


def _inputs(height: int = 60, width: int = 80) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    image = np.full((height, width, 3), GREY, dtype=np.uint8)
    pred = np.zeros((height, width), dtype=bool)
    pred[10:30, 10:40] = True
    gt = np.zeros((height, width), dtype=bool)
    gt[20:50, 30:70] = True
    return image, pred, gt


def _read(path) -> np.ndarray:
    with Image.open(path) as picture:
        assert picture.format == "PNG"
        return np.asarray(picture.convert("RGB"))


def test_overlay_tints_prediction_and_adds_caption_band(tmp_path):
    image, pred, gt = _inputs()
    write_overlay(tmp_path / "deep" / "one.png", image, pred, gt, "the red box | IoU 0.25")
    pixels = _read(tmp_path / "deep" / "one.png")
    band = pixels.shape[0] - image.shape[0]
    assert pixels.shape[1] == image.shape[1] and band > 0
    shown = pixels[band:].astype(int)
    tinted = shown[15, 15]  # inside the prediction, away from the ground truth
    assert tinted[0] > GREY and tinted[1] < GREY and tinted[2] < GREY
    assert (shown[55, 5] == GREY).all()  # outside both masks: untouched
    assert tuple(shown[35, 30]) != tuple(shown[35, 50])  # gt edge outlined, gt interior not


def test_caption_text_is_drawn_in_the_band(tmp_path):
    image, pred, gt = _inputs()
    write_overlay(tmp_path / "o.png", image, pred, gt, "a caption")
    band = _read(tmp_path / "o.png")[: -image.shape[0]]
    assert (band < 100).any() and (band == 255).any()  # dark text on white


def test_long_caption_wraps_into_a_taller_band(tmp_path):
    image, pred, gt = _inputs()
    write_overlay(tmp_path / "short.png", image, pred, gt, "short")
    write_overlay(tmp_path / "long.png", image, pred, gt, "a much longer referring expression " * 4)
    short, long = _read(tmp_path / "short.png"), _read(tmp_path / "long.png")
    assert long.shape[1] == short.shape[1] == image.shape[1]
    assert long.shape[0] > short.shape[0]


def test_overlay_without_ground_truth(tmp_path):
    image, pred, _ = _inputs()
    write_overlay(tmp_path / "o.png", image, pred, None, "no ground truth")
    assert _read(tmp_path / "o.png").shape[1] == image.shape[1]


def test_side_by_side_has_one_panel_per_mask(tmp_path):
    image, pred, gt = _inputs()
    masks = [("model A", pred), ("model B", ~pred)]
    write_side_by_side(tmp_path / "s.png", image, masks, gt, "comparison")
    pixels = _read(tmp_path / "s.png")
    assert pixels.shape[1] > 2 * image.shape[1]
    assert pixels.shape[0] > image.shape[0]


def test_mask_of_another_size_is_refused(tmp_path):
    image, _, gt = _inputs()
    with pytest.raises(ValueError, match="prediction mask"):
        write_overlay(tmp_path / "o.png", image, np.zeros((5, 5), bool), gt, "x")


def test_several_masks_get_one_palette_colour_each_later_ones_on_top():
    from haris.runtime.mask_overlay import MASK_PALETTE, mask_colour, tint_masks

    image = np.full((40, 40, 3), GREY, dtype=np.uint8)
    first, second = np.zeros((40, 40), bool), np.zeros((40, 40), bool)
    first[5:25, 5:25] = True
    second[15:35, 15:35] = True
    pixels = np.asarray(tint_masks(image, [first, second])).astype(int)
    red, green = (np.array(mask_colour(index)[1]) for index in (0, 1))
    assert np.abs(pixels[10, 10] - (GREY + 0.45 * (red - GREY))).max() <= 1
    assert np.abs(pixels[30, 30] - (GREY + 0.45 * (green - GREY))).max() <= 1
    overlap = GREY + 0.45 * (red - GREY)
    assert np.abs(pixels[20, 20] - (overlap + 0.45 * (green - overlap))).max() <= 1  # green over red
    assert (pixels[5, 5] == red).all() and (pixels[0, 39] == GREY).all()  # outlined in its colour; outside untouched
    assert mask_colour(len(MASK_PALETTE)) == mask_colour(0)


def test_the_legend_has_a_swatch_per_label_and_grows_with_labels():
    from PIL import Image as PILImage

    from haris.runtime.mask_overlay import mask_colour, with_legend

    picture = PILImage.new("RGB", (120, 50), (GREY, GREY, GREY))
    one = np.asarray(with_legend(picture, ["1. the red box"]))
    three = np.asarray(with_legend(picture, ["1. a", "2. b", "3. a much longer label that has to wrap onto a second line"]))
    assert one.shape[1] == three.shape[1] == 120 and 50 < one.shape[0] < three.shape[0]
    assert (one[:50] == GREY).all()  # the picture itself is unchanged, on top
    band = three[50:].reshape(-1, 3)
    for index in range(3):
        assert (band == mask_colour(index)[1]).all(axis=1).any()
