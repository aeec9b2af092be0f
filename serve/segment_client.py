"""`SegmentClient`: the HTTP client of `haris serve` (docs/serving.md): the standard library, numpy,
and Pillow (imported when pixels are sent). `RemotePredictor` puts it in a Predictor's place.

    client = SegmentClient("http://127.0.0.1:8000")
    answer = client.segment("photo.jpg", ["the red circle"])  # the answer JSON (runtime/answer_json.py)
    mask = decode_rle(answer["results"][0]["rle"])             # haris.runtime.mask_encoding

`segment` returns `{"model": {...}, "image": {"height", "width"}, "results": [{"expression", "rle",
"box", "area", "score"}, ...]}`, one result per expression in order. Expressions are checked here
as everywhere (runtime/expression_check.py) before anything is sent. A 4xx/5xx answer raises
ServiceError with the status and the server's message. Segmenting is idempotent, so a request the
service could not answer (connection refused or reset, 500, 502, 503, 504: a replica that dies
mid-request surfaces as Serve's 500) is retried `retries` times, after the wait a `Retry-After`
header asks for (a busy service's 503) or a doubling backoff. Each request names its image's hash
in the `x-session-id` header, which the service hashes onto the replica that encoded that image.
With `api_key` (haris.serve.api_keys.client_key reads one from a file or HARIS_API_KEY), every
request carries `Authorization: Bearer KEY`.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from haris.errors import HarisError, ServiceError
from haris.runtime.expression_check import check_expressions

RETRIED_STATUSES = (500, 502, 503, 504)
ROUTING_HEADER = "x-session-id"  # the key of Ray Serve's consistent-hash router

__all__ = ["SegmentClient", "ServiceError"]


class SegmentClient:
    def __init__(self, url: str, timeout: float = 60.0, retries: int = 3, retry_wait_s: float = 0.5, api_key: str | None = None) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.retries = retries
        self.retry_wait_s = retry_wait_s
        self.auth = {"Authorization": f"Bearer {api_key}"} if api_key else {}

    def segment(self, image: str | Path | bytes | np.ndarray, expressions: Sequence[str]) -> dict[str, Any]:
        """Masks of `expressions` in `image` (a file path, an image file's bytes, or uint8 RGB pixels)."""
        expressions = check_expressions(expressions)
        data = _image_bytes(image)
        body = json.dumps({"image": base64.b64encode(data).decode("ascii"), "expressions": expressions})
        return self._call("POST", "/v1/segment", body.encode("utf-8"), retry=True, headers={ROUTING_HEADER: image_key(data)})

    def health(self) -> dict[str, Any]:
        """The service's readiness (a 503 while replicas start raises ServiceError)."""
        return self._call("GET", "/v1/health", None, retry=False, headers={})

    def model(self) -> dict[str, Any]:
        """What answers ({"model": bundle, backend, precision, ...}) and the service's request limits."""
        return self._call("GET", "/v1/model", None, retry=True, headers={})

    def _call(self, method: str, path: str, body: bytes | None, retry: bool, headers: dict[str, str]) -> dict[str, Any]:
        for attempt in range(self.retries if retry else 0):
            try:
                return self._once(method, path, body, headers)
            except ServiceError as error:
                if error.status not in (None, *RETRIED_STATUSES):
                    raise
                wait = error.retry_after_s if error.retry_after_s is not None else self.retry_wait_s * 2**attempt
            time.sleep(wait)
        return self._once(method, path, body, headers)  # the last try: its error is the caller's

    def _once(self, method: str, path: str, body: bytes | None, headers: dict[str, str]) -> dict[str, Any]:
        headers = {**headers, **self.auth}
        if body is not None:
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(self.url + path, data=body, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as error:
            raise ServiceError(error.code, _message(error.read()), _retry_after(error.headers.get("Retry-After"))) from None
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise ServiceError(None, f"cannot reach {self.url}: {reason}") from None


def image_key(data: bytes) -> str:
    """The routing key of an image file: a hash of its bytes (any client may compute it so)."""
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def _retry_after(value: str | None) -> float | None:
    """The seconds of a Retry-After header in its delay form (a date form is ignored: backoff instead)."""
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None


def _message(body: bytes) -> str:
    """The server's {"error": ...} message, or the start of whatever else it sent."""
    try:
        return str(json.loads(body)["error"])
    except (ValueError, KeyError, TypeError):
        return body.decode("utf-8", errors="replace")[:500] or "(no message)"


def _image_bytes(image: str | Path | bytes | np.ndarray) -> bytes:
    if isinstance(image, bytes):
        return image
    if isinstance(image, np.ndarray):
        from PIL import Image  # pixels travel as PNG (lossless); the runtime extra brings Pillow

        from haris.runtime.image_loading import array_to_rgb

        buffer = io.BytesIO()
        Image.fromarray(array_to_rgb(image)).save(buffer, "PNG")
        return buffer.getvalue()
    try:
        return Path(image).read_bytes()
    except OSError as error:
        raise HarisError(f"{image}: cannot read the image file: {error.strerror or error}") from None
