"""A scripted local HTTP server standing in for `haris serve` (no Ray): it answers each request with
the next (status, JSON) it was given and records what it received; and the answers it gives."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np

from haris.runtime.answer_json import encode_answer
from haris.runtime.prediction import Prediction
from haris.serve.segment_client import ROUTING_HEADER

SERVED_MODEL = {"path": "/srv/bundles/tiny", "kind": "bundle", "backend": "onnxruntime", "device": "cpu", "precision": "fp32", "max_expressions": 64}


def served_answer(masks: list[np.ndarray], expressions: list[str], score: float = 0.75) -> dict[str, Any]:
    """What `haris serve` answers for these masks (written by the runtime's one writer, encode_answer)."""
    predictions = [Prediction(text, mask, np.zeros((4, 4), np.float32), score) for text, mask in zip(expressions, masks)]
    return encode_answer(SERVED_MODEL, masks[0].shape, predictions)


class ScriptedServer:
    """Answers each request with the next (status, JSON[, headers]) of `answers`; records what it
    received (and each request's headers in `headers`)."""

    def __init__(self, answers: list[tuple]) -> None:
        self.answers, self.received, self.routing_keys, self.headers = list(answers), [], [], []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                server.received.append((self.command, self.path, self.headers.get("Content-Type"), self.rfile.read(length)))
                server.routing_keys.append(self.headers.get(ROUTING_HEADER))
                server.headers.append(dict(self.headers))
                status, payload, *headers = server.answers.pop(0)
                body = json.dumps(payload).encode()
                self.send_response(status)
                for name, value in (headers[0] if headers else {}).items():
                    self.send_header(name, value)
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
