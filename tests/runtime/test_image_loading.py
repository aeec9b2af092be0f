"""Images as users hand them over: bad files refused in one clear line (library and `haris predict`),
odd modes converted, EXIF orientation honoured; and what `haris predict` writes."""

from __future__ import annotations

import io
import json
import shutil
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from answer_schema import assert_valid
from PIL import Image
from pycocotools import mask as coco_mask
from runtime_samples import colour_blocks, demo_scenes, encode_image

from haris.cli import main
from haris.runtime.image_loading import ImageError, check_resizable, load_rgb
from haris.runtime.predictor import Predictor

PNG = encode_image(colour_blocks(), "PNG")
JPEG = encode_image(colour_blocks(), "JPEG", quality=95)

# file name -> (its content, None for no file at all; a word the error must give)
BAD_FILES = {
    "missing.png": (None, "no such file"),
    "empty.png": (b"", "empty"),
    "truncated.png": (PNG[: len(PNG) // 2], "truncated"),
    "truncated.jpg": (JPEG[: len(JPEG) * 9 // 10], "truncated"),
    "notes.png": (b"a text file, not a picture\n", "not an image"),
}


def write_bad_file(folder, name):
    content, _ = BAD_FILES[name]
    if content is not None:
        (folder / name).write_bytes(content)
    return folder / name


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_bad_file_raises_one_line_image_error(tmp_path, name):
    path = write_bad_file(tmp_path, name)
    with pytest.raises(ImageError) as error:
        load_rgb(path)
    message = str(error.value)
    assert str(path) in message and BAD_FILES[name][1] in message and "\n" not in message


def test_folder_given_as_an_image_raises_image_error(tmp_path):
    with pytest.raises(ImageError, match=str(tmp_path)):
        load_rgb(tmp_path)


@pytest.mark.parametrize("limit", [500, 250])  # 600 pixels: over the limit (Pillow warns), over twice it (Pillow raises)
def test_image_over_the_decompression_bomb_limit_is_refused(monkeypatch, limit):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", limit)
    with pytest.raises(ImageError, match="decompression bomb"):
        load_rgb(encode_image(np.zeros((30, 20), np.uint8), "PNG"))


def test_image_under_the_decompression_bomb_limit_loads(monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 600)
    assert load_rgb(encode_image(np.zeros((30, 20), np.uint8), "PNG")).shape == (30, 20, 3)


def test_threads_loading_images_refuse_every_bomb_and_leave_warning_filters_alone(monkeypatch, tmp_path):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 500)
    (tmp_path / "bomb.png").write_bytes(encode_image(np.zeros((30, 20), np.uint8), "PNG"))  # Pillow only warns
    (tmp_path / "fine.png").write_bytes(encode_image(np.zeros((20, 20), np.uint8), "PNG"))
    filters = list(warnings.filters)

    def work(_):
        for _ in range(300):
            with pytest.raises(ImageError, match="decompression bomb"):
                load_rgb(tmp_path / "bomb.png")
            load_rgb(tmp_path / "fine.png")

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(work, range(4)))
    assert warnings.filters == filters


def test_grayscale_becomes_three_equal_channels():
    gray = np.arange(48 * 32, dtype=np.uint32).reshape(32, 48).astype(np.uint8)
    rgb = load_rgb(encode_image(Image.fromarray(gray, "L"), "PNG"))
    np.testing.assert_array_equal(rgb, np.repeat(gray[:, :, None], 3, axis=2))


def test_rgba_keeps_the_colours_under_the_alpha():
    alpha = np.full(colour_blocks().shape[:2], 30, np.uint8)
    rgba = np.dstack([colour_blocks(), alpha])
    np.testing.assert_array_equal(load_rgb(encode_image(Image.fromarray(rgba, "RGBA"), "PNG")), colour_blocks())


@pytest.mark.parametrize("transparent", [False, True])
def test_palette_image_gives_its_colours(transparent):
    palette = Image.fromarray(colour_blocks()).quantize(colors=4)
    data = encode_image(palette, "PNG", **({"transparency": 0} if transparent else {}))
    assert Image.open(io.BytesIO(data)).mode == "P"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Pillow warns when a transparent palette goes straight to RGB
        rgb = load_rgb(data)
    np.testing.assert_array_equal(rgb, colour_blocks())


def test_cmyk_jpeg_gives_rgb_colours():
    cmyk = Image.fromarray(colour_blocks()).convert("CMYK")
    rgb = load_rgb(encode_image(cmyk, "JPEG", quality=95))
    assert rgb.shape == colour_blocks().shape and rgb.dtype == np.uint8
    assert np.abs(rgb.astype(int) - colour_blocks()).mean() < 4


@pytest.mark.parametrize(
    "values, expected",
    [
        ([0, 257, 4000, 32896, 65535], [0, 1, 15, 128, 255]),
        ([0, 100, 200, 255, 90], [0, 0, 0, 0, 0]),
    ],  # a dark 16-bit image is dark, not read as 8-bit
)
def test_16_bit_png_is_scaled_to_8_bits(values, expected):
    data = encode_image(Image.fromarray(np.array([values], dtype=np.uint16)), "PNG")
    assert Image.open(io.BytesIO(data)).mode == "I;16"
    rgb = load_rgb(data)
    np.testing.assert_array_equal(rgb, np.repeat(np.array([expected], np.uint8)[:, :, None], 3, axis=2))


@pytest.mark.parametrize("orientation, quarter_turns", [(1, 0), (3, 2), (6, -1), (8, 1)])
def test_exif_orientation_is_honoured(orientation, quarter_turns):
    exif = Image.Exif()
    exif[0x0112] = orientation
    rgb = load_rgb(encode_image(colour_blocks(), "JPEG", quality=95, exif=exif))
    upright = np.rot90(colour_blocks(), quarter_turns)  # positive: counter-clockwise
    assert rgb.shape == upright.shape
    assert np.abs(rgb.astype(int) - upright).mean() < 4


@pytest.fixture(scope="module")
def predictor(tiny_bundle):
    return Predictor.from_bundle(tiny_bundle, threads=1)


def test_one_pixel_image_is_segmented_end_to_end(predictor):
    predictions = predictor.segment(encode_image(np.full((1, 1, 3), 200, np.uint8), "PNG"), ["the red circle", "a"])
    assert [p.mask.shape for p in predictions] == [(1, 1), (1, 1)]
    assert all(p.mask.dtype == bool for p in predictions)


def test_an_image_too_elongated_for_the_input_size_is_refused_by_name():
    with pytest.raises(ImageError, match="^a 1 x 1000 image is too elongated: its short side would be 0 pixels .* the model's 256$"):
        check_resizable(1, 1000, 256)
    with pytest.raises(ImageError, match="a 700 x 1 image"):
        check_resizable(700, 1, 256)
    check_resizable(2, 1000, 256)  # 0.5 rounds up: 1 pixel
    check_resizable(1, 1, 256)


def test_image_too_elongated_for_the_model_is_refused(predictor):
    with pytest.raises(ImageError, match="1 x 1000"):
        predictor.segment(np.zeros((1, 1000, 3), np.uint8), ["the red circle"])
    assert predictor.segment(np.zeros((2, 256, 3), np.uint8), ["the red circle"])[0].mask.shape == (2, 256)


# `haris predict`


def run_predict(capsys, bundle, images, expressions=("the red circle",), *options):
    args = ["predict", str(bundle), *map(str, images), *[f"--expression={text}" for text in expressions], *options]
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_error_line(err, *words):
    lines = [line for line in err.splitlines() if line.startswith("haris: error:")]
    assert len(lines) == 1 and "Traceback" not in err, err
    assert all(word in lines[0] for word in words), lines[0]


@pytest.fixture(scope="module")
def scene_files(tmp_path_factory):
    """Two demo scenes, as a PNG and a JPEG, in a folder of their own."""
    folder = tmp_path_factory.mktemp("scenes")
    (pixels_a, _), (pixels_b, _) = demo_scenes(2)
    (folder / "a.png").write_bytes(encode_image(pixels_a, "PNG"))
    (folder / "b.jpg").write_bytes(encode_image(pixels_b, "JPEG", quality=95))
    return folder


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_predict_stops_at_a_bad_image_with_one_error_line(capsys, tmp_path, tiny_bundle, scene_files, name):
    bad = write_bad_file(tmp_path, name)
    code, _, err = run_predict(capsys, tiny_bundle, [scene_files / "a.png", bad], ["the red circle"], f"--out={tmp_path / 'out'}")
    assert code != 0
    assert_one_error_line(err, name)


def test_predict_skip_bad_skips_and_lists_the_bad_images(capsys, tmp_path, tiny_bundle, scene_files):
    folder = tmp_path / "images"
    shutil.copytree(scene_files, folder)
    bad = [write_bad_file(folder, name) for name in sorted(BAD_FILES) if name != "missing.png"]
    thin = folder / "thin.png"
    thin.write_bytes(encode_image(np.zeros((1, 1000, 3), np.uint8), "PNG"))
    code, out, _ = run_predict(capsys, tiny_bundle, [folder], ["the red circle"], f"--out={tmp_path / 'out'}", "--skip-bad")
    report = json.loads((tmp_path / "out" / "predictions.json").read_text())
    assert code == 0 and f"skipped {len(bad) + 1} unreadable" in out
    assert sorted(record["path"] for record in report["images"]) == [str(folder / "a.png"), str(folder / "b.jpg")]
    assert len(report["skipped"]) == len(bad) + 1
    for path in [*bad, thin]:
        assert sum(str(path) in line for line in report["skipped"]) == 1, path


@pytest.mark.parametrize(("expression", "words"), [("", "is empty"), ("   ", "is empty"), ("\t\n", "is empty"), ("&nbsp;", "has no words")])
def test_predict_refuses_an_expression_without_words_before_any_image(capsys, tmp_path, tiny_bundle, scene_files, expression, words):
    code, _, err = run_predict(capsys, tiny_bundle, [scene_files / "a.png"], ["the red circle", expression], f"--out={tmp_path}")
    assert code != 0 and not (tmp_path / "a.0.mask.png").exists()
    assert_one_error_line(err, f"expression 1 {words}" if words == "is empty" else words)


def test_predict_cuts_an_over_long_expression_with_a_warning(capsys, tmp_path, tiny_bundle, scene_files):
    long = "the small red circle that is just left of the big blue square near the top of the picture"
    with pytest.warns(UserWarning, match="cut"):
        code, _, _ = run_predict(capsys, tiny_bundle, [scene_files / "a.png"], [long], f"--out={tmp_path}")
    assert code == 0
    assert json.loads((tmp_path / "predictions.json").read_text())["images"][0]["results"][0]["expression"] == long


@pytest.mark.parametrize("damage, reason", [("remove", "missing"), ("alter", "sha256")])
def test_predict_refuses_a_damaged_bundle(capsys, tmp_path, tiny_bundle, scene_files, damage, reason):
    bundle = shutil.copytree(tiny_bundle, tmp_path / "bundle")
    graph = bundle / "fusion.fp32.onnx"
    if damage == "remove":
        graph.unlink()
    else:
        graph.write_bytes(graph.read_bytes() + b"\0")
    code, _, err = run_predict(capsys, bundle, [scene_files / "a.png"], ["the red circle"], f"--out={tmp_path / 'out'}")
    assert code != 0
    assert_one_error_line(err, "fusion.fp32.onnx", reason)


@pytest.mark.parametrize("source", ["folder", "glob"])
def test_predict_writes_masks_overlays_and_coco_rle(capsys, tmp_path, tiny_bundle, scene_files, predictor, source):
    inputs = [scene_files] if source == "folder" else [scene_files / "*.png", scene_files / "*.jpg"]
    expressions = ["the red circle", "the big shape on the left"]
    code, _, _ = run_predict(capsys, tiny_bundle, inputs, expressions, f"--out={tmp_path}")
    assert code == 0
    report = json.loads((tmp_path / "predictions.json").read_text())
    assert_valid(report, "predictions_file")
    assert [record["path"] for record in report["images"]] == [str(scene_files / "a.png"), str(scene_files / "b.jpg")]
    for record in report["images"]:
        expected = predictor.segment(record["path"], expressions)
        for index, (entry, prediction) in enumerate(zip(record["results"], expected)):
            stem = f"{tmp_path}/{record['output_stem']}.{index}"
            mask = np.asarray(Image.open(f"{stem}.mask.png")) > 0
            overlay = Image.open(f"{stem}.overlay.png")
            np.testing.assert_array_equal(mask, prediction.mask)
            np.testing.assert_array_equal(coco_mask.decode(entry["rle"]).astype(bool), mask)
            assert entry["area"] == int(mask.sum()) > 0 and entry["expression"] == expressions[index]
            assert entry["box"] == coco_mask.toBbox(entry["rle"]).astype(int).tolist()
            assert overlay.width >= record["image"]["width"] and overlay.height >= record["image"]["height"]


def test_predict_keeps_images_with_the_same_name_apart(capsys, tmp_path, tiny_bundle, scene_files):
    folder = tmp_path / "images"
    folder.mkdir()
    shutil.copy(scene_files / "a.png", folder / "x.png")
    (folder / "x.jpg").write_bytes(encode_image(np.zeros((40, 60, 3), np.uint8), "JPEG"))
    code, _, _ = run_predict(capsys, tiny_bundle, [folder], ["the red circle"], f"--out={tmp_path / 'out'}")
    stems = [record["output_stem"] for record in json.loads((tmp_path / "out" / "predictions.json").read_text())["images"]]
    assert code == 0 and len(set(stems)) == 2
    assert [Image.open(tmp_path / "out" / f"{stem}.0.mask.png").size for stem in stems] == [(60, 40), (256, 256)]  # x.jpg, x.png
