"""`haris app` from its argv: with --server, the page comes up on --host/--port and answers through the
service it names (a scripted stand-in for `haris serve`, no Ray); the options that choose a local model
are refused with --server, and SIGTERM stops the page (exit 0)."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from local_ports import free_port
from runtime_samples import colour_blocks, encode_image
from scripted_server import SERVED_MODEL, ScriptedServer, served_answer

from haris.cli import main

LIMITS = {"max_expressions": 5, "max_expression_chars": 500, "max_payload_bytes": 1 << 20, "max_image_pixels": 1 << 20}


def visit_then_stop(page: str, image: str, seen: dict) -> None:
    """Wait for the page, read its config, segment through its API (what the Segment button calls), then
    SIGTERM this process, which `haris app` answers by stopping (only once its own handler is installed)."""
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and "config" not in seen:
            try:
                with urllib.request.urlopen(page + "config", timeout=5) as response:
                    seen["config"] = json.loads(response.read())
            except OSError:
                time.sleep(0.2)
        from gradio_client import Client, handle_file

        seen["answer"] = Client(page, verbose=False).predict(handle_file(image), "the band", api_name="/segment")
    finally:
        if signal.getsignal(signal.SIGTERM) not in (signal.SIG_DFL, None):  # run_app's handler: a clean stop
            os.kill(os.getpid(), signal.SIGTERM)


def test_app_with_a_server_serves_the_page_on_its_port_and_answers_through_the_service(tmp_path):
    mask = np.zeros((40, 64), bool)
    mask[5:20, 8:40] = True
    image = tmp_path / "blocks.png"
    image.write_bytes(encode_image(colour_blocks(40, 64), "PNG"))
    port, seen = free_port(), {}
    with ScriptedServer([(200, {"model": SERVED_MODEL, "limits": LIMITS}), (200, served_answer([mask], ["the band"]))]) as server:
        visitor = threading.Thread(target=visit_then_stop, args=(f"http://127.0.0.1:{port}/", str(image), seen))
        visitor.start()
        (tmp_path / "key").write_text("app-key-1\n", encoding="utf-8")
        argv = ["app", "--server", server.url, "--host", "127.0.0.1", "--port", str(port), "--max-expressions", "3"]
        code = main([*argv, "--api-key-file", str(tmp_path / "key")])
        visitor.join()
    assert code == 0 and [path for _, path, _, _ in server.received] == ["/v1/model", "/v1/segment"]
    assert all(headers["Authorization"] == "Bearer app-key-1" for headers in server.headers)  # the key file's key, on every request
    texts = json.dumps(seen["config"])
    assert f"through the service {server.url}" in texts and "at most 3" in texts  # --max-expressions wins over the service's 5
    overlay, table, downloads, timing = seen["answer"]
    assert [row[2] for row in table["data"]] == ["the band"] and timing.startswith("1 expression answered in ")
    answer = json.loads(Path(downloads[1]).read_text(encoding="utf-8"))  # the page's predictions.json, fetched by the client
    assert answer["model"]["service"] == server.url


@pytest.mark.parametrize(
    "argv",
    [
        ["app", "--server", "http://127.0.0.1:9", "--backend", "onnxruntime"],
        ["app", "--server", "http://127.0.0.1:9", "--device", "cpu"],
        ["app", "--server", "http://127.0.0.1:9", "--precision", "fp32"],
        ["app", "--server", "http://127.0.0.1:9", "--threads", "2"],
    ],
)
def test_app_refuses_local_model_options_with_a_server(argv, capsys):
    assert main(argv) == 2
    assert "--backend, --device, --precision and --threads choose a local model; with --server the service decides" in capsys.readouterr().err


def test_app_needs_a_model_or_a_server(capsys):
    assert main(["app"]) == 2
    assert "give either a bundle directory or --server URL" in capsys.readouterr().err


def test_app_refuses_a_login_file_that_is_not_user_password_lines(tmp_path, capsys):
    (tmp_path / "logins").write_text("just-a-name\n", encoding="utf-8")
    assert main(["app", "--server", "http://127.0.0.1:9", "--login-file", str(tmp_path / "logins")]) == 2
    assert "one `user:password` per line" in capsys.readouterr().err
