"""The Segment button's handler without a browser: an answer drawn, or a gr.Error naming the problem."""

from __future__ import annotations

import json
from pathlib import Path

import gradio as gr
import pytest
from answer_schema import assert_valid
from app_answers import DESCRIPTION, band_answer, band_source
from runtime_samples import colour_blocks, encode_image

from haris.app.segment_page import segment_request


@pytest.fixture
def image_file(tmp_path):
    path = tmp_path / "blocks.png"
    path.write_bytes(encode_image(colour_blocks(40, 64), "PNG"))
    return path


def test_an_answer_gives_overlay_rows_downloads_and_timing(image_file, tmp_path):
    calls = []
    overlay, rows, files, timing = segment_request(band_source(calls), 4, tmp_path / "answers", str(image_file), "the red band\nthe blue band")
    assert calls == [((40, 64, 3), ["the red band", "the blue band"])]
    assert overlay.width == 64 and overlay.height > 40
    assert [row[2] for row in rows] == ["the red band", "the blue band"]
    assert [path.rsplit("/", 1)[1] for path in files] == ["masks.zip", "predictions.json"]
    assert timing.startswith("2 expressions answered in ")
    download = json.loads(Path(files[1]).read_text(encoding="utf-8"))
    assert download == band_answer((40, 64, 3), ["the red band", "the blue band"]) and download["model"] == DESCRIPTION
    assert_valid(download, "answer")


@pytest.mark.parametrize(
    ("image", "text", "message"),
    [
        (None, "a", "upload an image first"),
        ("blocks.png", "   ", "no expressions: give at least one referring expression"),
        ("blocks.png", "a\nb\nc\nd\ne", "5 expressions, more than the limit of 4 per image"),
        ("notes.png", "a", "notes.png: not an image Pillow can read"),
    ],
)
def test_what_a_visitor_got_wrong_is_a_message(image_file, tmp_path, image, text, message):
    (tmp_path / "notes.png").write_text("not pixels")
    calls = []
    path = str(tmp_path / image) if image else None
    with pytest.raises(gr.Error) as raised:
        segment_request(band_source(calls), 4, tmp_path / "answers", path, text)
    assert message in raised.value.message and str(tmp_path) not in raised.value.message  # the file's name, not the server's path
    assert calls == []


def test_an_answer_for_another_image_is_a_message_not_a_wrong_drawing(image_file, tmp_path):
    with pytest.raises(gr.Error, match="the mask of 'a' is 10 x 10, but the image shown is 40 x 64"):
        segment_request(band_source(answer_shape=(10, 10, 3)), 4, tmp_path / "answers", str(image_file), "a")
