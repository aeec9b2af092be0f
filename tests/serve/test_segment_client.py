"""SegmentClient against a scripted local HTTP server (no Ray): what it sends, what it returns, which
answers it retries and which it raises."""

from __future__ import annotations

import base64
import hashlib
import json
import time

import numpy as np
import pytest
from runtime_samples import colour_blocks, encode_image
from scripted_server import ScriptedServer, served_answer

from haris.errors import ExpressionError, ServiceError
from haris.runtime.image_loading import load_rgb
from haris.serve.segment_client import SegmentClient


def test_segment_posts_the_file_and_expressions_as_json_and_returns_the_answer(tmp_path):
    path = tmp_path / "blocks.png"
    path.write_bytes(encode_image(colour_blocks(), "PNG"))
    answer = served_answer([np.ones((32, 48), bool)], ["the blue band"])
    with ScriptedServer([(200, answer)]) as server:
        assert SegmentClient(server.url + "/").segment(path, ["the blue band"]) == answer
    method, where, content_type, body = server.received[0]
    assert (method, where, content_type) == ("POST", "/v1/segment", "application/json")
    sent = json.loads(body)
    assert base64.b64decode(sent["image"]) == path.read_bytes() and sent["expressions"] == ["the blue band"]
    # Serve routes by this header to a replica that encoded the same file lately.
    assert server.routing_keys == [hashlib.blake2b(path.read_bytes(), digest_size=16).hexdigest()]


def test_pixels_travel_losslessly_as_png():
    pixels = colour_blocks()
    with ScriptedServer([(200, {})]) as server:
        SegmentClient(server.url).segment(pixels, ["x"])
    np.testing.assert_array_equal(load_rgb(base64.b64decode(json.loads(server.received[0][3])["image"])), pixels)


def test_a_busy_or_restarting_service_is_retried_and_a_refusal_is_not():
    # 500: what Serve's proxy answers when the replica died mid-request.
    answers = [(503, {"error": "starting"}), (500, {"error": "replica died"}), (502, {"error": "bad gateway"}), (200, {"ok": 1})]
    with ScriptedServer(answers) as server:
        assert SegmentClient(server.url, retry_wait_s=0).segment(b"png", ["x"]) == {"ok": 1}
    assert len(server.received) == 4
    words = "expression 0 '&nbsp;' has no words (only markup or characters the tokenizer drops): nothing to segment"
    with ScriptedServer([(400, {"error": words})]) as server, pytest.raises(ServiceError) as refused:
        SegmentClient(server.url, retry_wait_s=0).segment(b"png", ["&nbsp;"])
    assert refused.value.status == 400 and refused.value.message == words and len(server.received) == 1


def test_health_is_not_retried_and_its_503_raises():
    starting = (503, {"error": "not every replica is running yet"})
    with ScriptedServer([starting]) as server, pytest.raises(ServiceError, match="not every replica") as refused:
        SegmentClient(server.url).health()
    assert refused.value.status == 503 and len(server.received) == 1


def test_an_unreachable_service_raises_after_the_retries():
    with ScriptedServer([]) as server:
        url = server.url  # closed once the block ends: nothing listens there any more
    with pytest.raises(ServiceError, match=f"cannot reach {url}") as refused:
        SegmentClient(url, retries=1, retry_wait_s=0).model()
    assert refused.value.status is None


def test_bad_expressions_are_refused_by_the_runtimes_check_before_sending():
    with ScriptedServer([]) as server:
        client = SegmentClient(server.url, retries=0)
        with pytest.raises(ExpressionError, match="got one string"):
            client.segment(b"png", "the cat")
        with pytest.raises(ExpressionError, match="expression 1 is empty"):
            client.segment(b"png", ["the cat", " "])
    assert server.received == []


def test_a_busy_services_retry_after_is_waited_for_instead_of_the_backoff():
    answers = [(503, {"error": "busy"}, {"Retry-After": "1"}), (200, {"ok": 1})]
    with ScriptedServer(answers) as server:
        began = time.monotonic()
        assert SegmentClient(server.url, retry_wait_s=0).segment(b"png", ["x"]) == {"ok": 1}
        waited = time.monotonic() - began
    assert len(server.received) == 2 and 1.0 <= waited < 2.5


def test_the_api_key_goes_in_every_request_as_a_bearer_token():
    with ScriptedServer([(200, {"ok": 1}), (200, {"model": {}, "limits": {}})]) as server:
        client = SegmentClient(server.url, api_key="k-123")
        client.segment(b"png", ["x"])
        client.model()
    assert [headers["Authorization"] for headers in server.headers] == ["Bearer k-123", "Bearer k-123"]
    refusal = (401, {"error": "no API key: send the header"}, {"WWW-Authenticate": "Bearer"})
    with ScriptedServer([refusal]) as server, pytest.raises(ServiceError, match="no API key") as refused:
        SegmentClient(server.url, retry_wait_s=0).segment(b"png", ["x"])
    assert refused.value.status == 401 and len(server.received) == 1 and "Authorization" not in server.headers[0]
