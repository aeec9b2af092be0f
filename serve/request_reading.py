"""Reading a segment request's body, in either form, within the payload limit (Starlette requests).

multipart/form-data: a file field `image` and one `expressions` field per expression.
application/json: {"image": "<base64 of the file>", "expressions": ["...", ...]}.
The body is read at most up to the limit (413 past it, the declared length checked first), then
parsed from memory, so an oversized upload costs no more than the limit.
"""

from __future__ import annotations

from typing import Any

from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import Request

from haris.serve.bad_request import BadRequest
from haris.serve.request_limits import RequestLimits
from haris.serve.request_validation import json_request

JSON = "application/json"
MULTIPART = "multipart/form-data"
# The two body forms, for the OpenAPI page (the route reads the raw request, so FastAPI cannot infer them).
SEGMENT_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            MULTIPART: {
                "schema": {
                    "type": "object",
                    "required": ["image", "expressions"],
                    "properties": {"image": {"type": "string", "format": "binary"}, "expressions": {"type": "array", "items": {"type": "string"}}},
                }
            },
            JSON: {
                "schema": {
                    "type": "object",
                    "required": ["image", "expressions"],
                    "properties": {
                        "image": {"type": "string", "format": "byte", "description": "base64 of an image file"},
                        "expressions": {"type": "array", "items": {"type": "string"}},
                    },
                }
            },
        },
    }
}


async def segment_inputs(request: Request, limits: RequestLimits) -> tuple[bytes | None, Any]:
    """(image bytes or None when absent, expressions as sent) of a segment request."""
    content_type = request.headers.get("content-type", "")
    kind = content_type.split(";")[0].strip().lower()
    if kind not in (JSON, MULTIPART):
        shown = repr(content_type) if content_type else "no content type"
        raise BadRequest(f"unsupported {shown}: send multipart/form-data (image file + expressions fields) or application/json", 415)
    body = await capped_body(request, limits.max_payload_bytes)
    if kind == JSON:
        return json_request(body)
    return await _form_inputs(request, body, limits)


async def capped_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise BadRequest(f"the request body is {int(declared)} bytes, more than the limit of {limit}", 413)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BadRequest(f"the request body is over the limit of {limit} bytes", 413)
        chunks.append(chunk)
    return b"".join(chunks)


async def _form_inputs(request: Request, body: bytes, limits: RequestLimits) -> tuple[bytes | None, Any]:
    replayed = Request(request.scope, _replay(body))
    try:
        # Room for more fields than the expression limit, so going over it gets that limit's message.
        form = await replayed.form(max_files=8, max_fields=4 * limits.max_expressions + 16, max_part_size=limits.max_payload_bytes)
    except (MultiPartException, HTTPException) as error:
        raise BadRequest(f"malformed multipart body: {getattr(error, 'message', None) or getattr(error, 'detail', error)}") from None
    try:
        images = form.getlist("image")
        if len(images) > 1:
            raise BadRequest(f"{len(images)} image fields: send one image per request")
        if images and not isinstance(images[0], UploadFile):
            raise BadRequest('the "image" field must be a file (curl: -F image=@photo.jpg), not text')
        data = await images[0].read() if images else None
        return data, form.getlist("expressions") if "expressions" in form else None
    finally:
        await form.close()


def _replay(body: bytes):
    """An ASGI receive that hands over `body` once (the original stream is already consumed)."""
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive
