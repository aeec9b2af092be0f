"""Raw requests to a `haris serve` service, for the serve tests and checks: POST, form bodies."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid

from haris.serve.request_limits import RequestLimits
from haris.serve.segment_client import ROUTING_HEADER

# The test service's limits: small, so the over-limit requests stay small.
SERVICE_LIMITS = RequestLimits(max_payload_bytes=2 << 20, max_image_pixels=1_000_000)


def post(url: str, body: bytes, content_type: str | None, routing_key: str | None = None) -> tuple[int, dict, dict]:
    """(status, JSON answer, headers) of a POST, 4xx/5xx answers included; `routing_key` goes in the
    header Serve routes by (what SegmentClient sends: the image file's hash)."""
    headers = {"Content-Type": content_type} if content_type else {}
    if routing_key:
        headers[ROUTING_HEADER] = routing_key
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read()), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read()), dict(error.headers)


def multipart(fields: list[tuple[str, bytes | str, str | None]]) -> tuple[bytes, str]:
    """(body, content type) of form fields (name, value, file name or None for a text field)."""
    boundary = uuid.uuid4().hex
    parts = []
    for name, value, filename in fields:
        data = value.encode() if isinstance(value, str) else value
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        kind = "Content-Type: application/octet-stream\r\n" if filename else ""
        parts.append(f"--{boundary}\r\nContent-Disposition: {disposition}\r\n{kind}\r\n".encode() + data + b"\r\n")
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def segment_form(image: bytes, expressions: list[str]) -> tuple[bytes, str]:
    return multipart([("image", image, "image.png"), *[("expressions", text, None) for text in expressions]])
