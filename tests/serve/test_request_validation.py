"""The service's request checks without Ray: each refusal names the problem and carries its status."""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest
from PIL import Image
from runtime_samples import colour_blocks, encode_image

from haris.errors import HarisError
from haris.serve.bad_request import BadRequest
from haris.serve.request_limits import RequestLimits
from haris.serve.request_validation import apply_pixel_limit, checked_expressions, decoded_image, json_request

LIMITS = RequestLimits(max_expressions=3, max_expression_chars=10)


def test_a_json_body_gives_the_image_bytes_and_the_expressions():
    png = encode_image(colour_blocks(), "PNG")
    body = json.dumps({"image": base64.b64encode(png).decode(), "expressions": ["the red band"]}).encode()
    assert json_request(body) == (png, ["the red band"])


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b"{not json", "malformed JSON body"),
        (b"\xff\xfe", "malformed JSON body"),
        (b"[1, 2]", "must be an object"),
        (b'{"expressions": ["x"]}', 'missing "image"'),
        (b'{"image": 5}', '"image" must be a base64 string, got int'),
        (b'{"image": "abc"}', "not valid base64"),
    ],
)
def test_a_bad_json_body_is_refused_by_name(body, words):
    with pytest.raises(BadRequest, match=words) as refused:
        json_request(body)
    assert refused.value.status == 400


@pytest.mark.parametrize(
    ("expressions", "words"),
    [
        (None, 'missing "expressions"'),
        ("the cat", "must be a list of strings, got one string"),
        ({"0": "the cat"}, "must be a list of strings, got dict"),
        ([], "no expressions: give at least one referring expression"),
        (["a", "b", "c", "d"], "4 expressions, more than the limit of 3 per image"),
        (["a", 7], "expression 1 must be a string, got int"),
        (["a", " \t"], "expression 1 is empty"),
        (["a" * 11], "11 characters, more than the limit of 10"),
    ],
)
def test_bad_expressions_are_refused_by_name(expressions, words):
    with pytest.raises(BadRequest, match=words):
        checked_expressions(expressions, LIMITS)


def test_expressions_within_the_limits_pass_in_order():
    assert checked_expressions(["b", "a", "b"], LIMITS) == ["b", "a", "b"]


def test_a_good_image_decodes_to_its_pixels():
    pixels = colour_blocks()
    np.testing.assert_array_equal(decoded_image(encode_image(pixels, "PNG"), 64), pixels)


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (None, 'missing "image"'),
        (b"", "empty"),
        (b"GIF89a but not really", "cannot decode|not an image"),
        (b"plain text", "not an image"),
    ],
)
def test_a_bad_image_is_refused_by_name(data, words):
    with pytest.raises(BadRequest, match=words):
        decoded_image(data, 64)


def test_a_truncated_image_and_a_too_thin_one_are_refused():
    png = encode_image(colour_blocks(64, 64), "PNG")
    with pytest.raises(BadRequest, match="cannot decode"):
        decoded_image(png[: len(png) // 2], 64)
    with pytest.raises(BadRequest, match="a 1 x 300 image is too elongated: its short side would be 0 pixels") as refused:
        decoded_image(encode_image(np.zeros((1, 300), np.uint8), "PNG"), 64)
    assert refused.value.status == 400
    assert decoded_image(encode_image(np.zeros((3, 300), np.uint8), "PNG"), 64).shape == (3, 300, 3)  # 1 pixel high at 64: kept


def test_the_pixel_limit_refuses_larger_images_from_their_header(monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", Image.MAX_IMAGE_PIXELS)  # restored after the test
    apply_pixel_limit(RequestLimits(max_image_pixels=1000))
    assert Image.MAX_IMAGE_PIXELS == 1000
    decoded_image(encode_image(np.zeros((20, 50), np.uint8), "PNG"), 64)  # 1000 pixels: at the limit
    with pytest.raises(BadRequest, match="decompression bomb"):
        decoded_image(encode_image(np.zeros((21, 50), np.uint8), "PNG"), 64)


@pytest.mark.parametrize("field", ["max_expressions", "max_expression_chars", "max_payload_bytes", "max_image_pixels"])
def test_limits_must_be_positive(field):
    with pytest.raises(HarisError, match=field):
        RequestLimits(**{field: 0})
