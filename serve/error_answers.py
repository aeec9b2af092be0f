"""The service's answers when it does not segment: every one JSON `{"error": ...}`.

A refusal (BadRequest: 4xx, 401, 503, 504) says what was wrong. A fault of the service (any other
exception, inside a replica or in the model) never shows its text or traceback to the client: the
answer is a 500 with a request id, and the service's log has the traceback under that id.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from haris.serve.bad_request import BadRequest

log = logging.getLogger(__name__)


def error_response(message: str, status: int, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def internal_error(where: str) -> JSONResponse:
    """The 500 of a fault being handled (call it inside `except`): its traceback is logged under a new request id."""
    request_id = uuid.uuid4().hex
    log.exception("request %s (%s) failed inside the service", request_id, where)
    body = {"error": f"internal error: the service's log has the details under request id {request_id}", "request_id": request_id}
    return JSONResponse(body, status_code=500, headers={"X-Haris-Request-Id": request_id})


async def json_answer(work: Callable[[], Awaitable[JSONResponse]], where: str) -> JSONResponse:
    """`work`'s answer; a refusal as its JSON; any other exception as internal_error's 500."""
    try:
        return await work()
    except BadRequest as refused:
        return error_response(refused.message, refused.status, refused.headers)
    except Exception:
        return internal_error(where)


def install_error_answers(api: FastAPI) -> None:
    """JSON for what happens outside a route's own handling: refusals, unknown paths and methods,
    and faults (the 500 above)."""

    @api.exception_handler(BadRequest)
    async def _refused(request: Request, error: BadRequest) -> JSONResponse:
        return error_response(error.message, error.status, error.headers)

    @api.exception_handler(HTTPException)
    async def _http_error(request: Request, error: HTTPException) -> JSONResponse:
        return error_response(str(error.detail), error.status_code, dict(error.headers or {}))

    @api.exception_handler(RequestValidationError)
    async def _invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        return error_response(f"invalid request: {error.errors()}"[:1000], 422)

    @api.exception_handler(Exception)
    async def _failed(request: Request, error: Exception) -> JSONResponse:
        try:
            raise error
        except Exception:  # so that the log has the traceback
            return internal_error(f"{request.method} {request.url.path}")
