"""SegmentClient and RemotePredictor against a scripted local HTTP server (no Ray): what they send,
what they return, which answers they retry and which they raise."""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest
from runtime_samples import colour_blocks, encode_image

from haris.client import ROUTING_HEADER, SegmentClient
from haris.errors import HarisError, ServiceError
from haris.remote_predictor import RemotePredictor
from haris.runtime.image_loading import load_rgb
from haris.runtime.mask_encoding import encode_rle


class ScriptedServer:
    """Answers each request with the next (status, JSON) of `answers`; records what it received."""

    def __init__(self, answers: list[tuple[int, dict]]) -> None:
        self.answers, self.received, self.routing_keys = list(answers), [], []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                server.received.append((self.command, self.path, self.headers.get("Content-Type"), self.rfile.read(length)))
                server.routing_keys.append(self.headers.get(ROUTING_HEADER))
                status, payload = server.answers.pop(0)
                body = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _answer

            def log_message(self, *args: object) -> None:
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}"
        self.thread = threading.Thread(target=self.http.serve_forever, daemon=True)

    def __enter__(self) -> ScriptedServer:
        self.thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.http.shutdown()
        self.http.server_close()
        self.thread.join()


def _answer(mask: np.ndarray, expression: str = "the blue band") -> dict:
    result = {"expression": expression, "rle": encode_rle(mask), "box": [0, 0, 1, 1], "area": int(mask.sum()), "score": 0.75}
    return {"model": {"backend": "onnxruntime"}, "image": {"height": mask.shape[0], "width": mask.shape[1]}, "results": [result]}


def test_segment_posts_the_file_and_expressions_as_json_and_returns_the_answer(tmp_path):
    path = tmp_path / "blocks.png"
    path.write_bytes(encode_image(colour_blocks(), "PNG"))
    answer = _answer(np.ones((32, 48), bool))
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
    with ScriptedServer([(400, {"error": "expression 0 is empty: nothing to segment"})]) as server, pytest.raises(ServiceError) as refused:
        SegmentClient(server.url, retry_wait_s=0).segment(b"png", [" "])
    assert refused.value.status == 400 and refused.value.message == "expression 0 is empty: nothing to segment" and len(server.received) == 1


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


def test_one_string_is_refused_before_sending():
    with pytest.raises(HarisError, match="not one string"):
        SegmentClient("http://127.0.0.1:9").segment(b"png", "the cat")


def test_remote_predictor_decodes_the_masks_for_predict_images():
    mask = np.zeros((32, 48), bool)
    mask[4:20, 30:40] = True
    with ScriptedServer([(200, _answer(mask))]) as server:
        (prediction,) = RemotePredictor(SegmentClient(server.url)).segment(colour_blocks(), ["the blue band"])
    np.testing.assert_array_equal(prediction.mask, mask)
    assert prediction.expression == "the blue band" and prediction.score == 0.75 and prediction.to_json()["area"] == mask.sum()
