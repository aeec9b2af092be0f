"""What the service answers when it does not segment (error_answers.py), on a FastAPI app of its
own (no Ray): refusals as JSON with their headers, unknown paths as JSON, and a fault as a 500
that shows nothing of it but a request id, which the log has with the traceback."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient

from haris.serve.bad_request import BadRequest
from haris.serve.error_answers import install_error_answers, json_answer

SECRET = "/home/operator/private/bundle.onnx: CUDA error 700"


def _app() -> FastAPI:
    api = FastAPI()
    install_error_answers(api)

    async def fails() -> JSONResponse:
        raise RuntimeError(SECRET)

    async def refuses() -> JSONResponse:
        raise BadRequest("no API key", 401, {"WWW-Authenticate": "Bearer"})

    @api.post("/route-fault")
    async def route_fault(request: Request) -> JSONResponse:
        return await json_answer(fails, "POST /route-fault")

    @api.post("/refusal")
    async def refusal(request: Request) -> JSONResponse:
        return await json_answer(refuses, "POST /refusal")

    @api.get("/unhandled")
    async def unhandled() -> JSONResponse:
        raise KeyError(SECRET)

    return api


def test_a_fault_answers_500_with_a_request_id_and_the_log_has_the_traceback(caplog):
    client = TestClient(_app(), raise_server_exceptions=False)
    for method, path in (("POST", "/route-fault"), ("GET", "/unhandled")):
        caplog.clear()
        with caplog.at_level(logging.ERROR, logger="haris.serve.error_answers"):
            answer = client.request(method, path)
        body = answer.json()
        assert answer.status_code == 500 and set(body) == {"error", "request_id"}
        assert SECRET not in answer.text and "Error" not in answer.text
        assert body["request_id"] in body["error"] and answer.headers["X-Haris-Request-Id"] == body["request_id"]
        logged = [record for record in caplog.records if body["request_id"] in record.getMessage()]
        assert len(logged) == 1 and SECRET in str(logged[0].exc_info[1]), caplog.text


def test_refusals_and_unknown_paths_are_json_with_their_headers():
    client = TestClient(_app())
    refused = client.post("/refusal")
    assert (refused.status_code, refused.json(), refused.headers["WWW-Authenticate"]) == (401, {"error": "no API key"}, "Bearer")
    missing = client.get("/v2/nothing")
    assert missing.status_code == 404 and missing.json() == {"error": "Not Found"}
    wrong_method = client.get("/refusal")
    assert wrong_method.status_code == 405 and set(wrong_method.json()) == {"error"}
