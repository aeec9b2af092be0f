"""Checking a segment request before any model work: its image, its expressions, the JSON body.

Each check raises BadRequest with a message naming the problem (and a 4xx status), so a bad request
never reaches a replica that holds the model, and never becomes a 500. The expressions and the
image's shape are checked by the runtime's own checks (`check_expressions`, `check_resizable`),
the ones a Predictor makes, with the service's request limits.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

import numpy as np
from PIL import Image

from haris.errors import ExpressionError
from haris.runtime.expression_check import check_expressions
from haris.runtime.image_loading import ImageError, check_resizable, load_rgb
from haris.serve.bad_request import BadRequest
from haris.serve.request_limits import RequestLimits


def apply_pixel_limit(limits: RequestLimits) -> None:
    """Make Pillow refuse images over `max_image_pixels` while reading their header (its
    decompression-bomb guard, which load_rgb turns into an ImageError). The setting is process-wide:
    call it in the process that decodes requests (a Segmenter replica), not in a library user's."""
    Image.MAX_IMAGE_PIXELS = limits.max_image_pixels


def json_request(body: bytes) -> tuple[bytes, Any]:
    """(image bytes, expressions as sent) of a JSON body {"image": "<base64>", "expressions": [...]}."""
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise BadRequest(f"malformed JSON body: {error}") from None
    if not isinstance(payload, dict):
        raise BadRequest(f'the JSON body must be an object {{"image": "<base64>", "expressions": [...]}}, got {type(payload).__name__}')
    image = payload.get("image")
    if image is None:
        raise BadRequest('missing "image": the base64 of an image file')
    if not isinstance(image, str):
        raise BadRequest(f'"image" must be a base64 string, got {type(image).__name__}')
    try:
        data = base64.b64decode(image, validate=True)
    except (binascii.Error, ValueError) as error:
        raise BadRequest(f'"image" is not valid base64: {error}') from None
    return data, payload.get("expressions")


def checked_expressions(value: Any, limits: RequestLimits) -> list[str]:
    """The expressions as sent, checked by the runtime's one check within the request limits."""
    if value is None:
        raise BadRequest('missing "expressions": give a list of one or more referring expressions')
    try:
        return check_expressions(value, limits.max_expressions, limits.max_expression_chars)
    except ExpressionError as error:
        raise BadRequest(str(error)) from None


def decoded_image(data: bytes | None, image_size: int) -> np.ndarray:
    """uint8 RGB of an image file's bytes, refused (naming why) when it is missing, empty, not an
    image, truncated, over the pixel limit, or too thin for a model of input size `image_size`."""
    if data is None:
        raise BadRequest('missing "image": send an image file')
    if not data:
        raise BadRequest("the image is empty (0 bytes)")
    try:
        rgb = load_rgb(data)
        check_resizable(rgb.shape[0], rgb.shape[1], image_size)
    except ImageError as error:
        raise BadRequest(str(error)) from None
    return rgb
