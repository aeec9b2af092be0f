"""Ray Serve's own tooling: the config `haris serve --write-config` writes, started by `serve run`
(its own Ray on the loopback), with API keys: requests without the key refused 401, the health
open, the client, `haris predict --server` and `RemotePredictor` answered with it."""

from __future__ import annotations

import json
import os
import sys

import pytest
from local_ports import free_port
from runtime_samples import demo_scenes, encode_image
from service_process import raw_request, service_process

from haris.cli import main
from haris.serve.remote_predictor import RemotePredictor
from haris.serve.segment_client import SegmentClient
from haris.serve.service_runner import wait_until_healthy

pytestmark = pytest.mark.serve
KEY = "k-7f3a9c-serve-run"


def test_serve_run_starts_the_written_config_and_its_keys_guard_it(tiny_bundle, tmp_path, monkeypatch):
    (tmp_path / "keys").write_text(f"{KEY}\n", encoding="utf-8")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    config = tmp_path / "haris-serve.yaml"
    assert main(["serve", str(tiny_bundle), "--port", str(port), "--api-key-file", str(tmp_path / "keys"), "--write-config", str(config)]) == 0
    environment = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    pixels, texts = demo_scenes(1, seed=5)[0]
    with service_process([sys.executable, "-m", "ray.serve.scripts", "run", str(config)], tmp_path / "serve-run.log", tmp_path, environment):
        wait_until_healthy(url, timeout_s=240)  # the health stays open
        assert raw_request(f"{url}/v1/health/live")[0] == 200
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": KEY}):
            status, body, answer_headers = raw_request(f"{url}/v1/model", headers=headers)
            assert status == 401 and answer_headers["www-authenticate"] == "Bearer" and "API key" in json.loads(body)["error"]
        answer = SegmentClient(url, api_key=KEY).segment(pixels, texts[:2])
        assert [result["expression"] for result in answer["results"]] == texts[:2]
        with RemotePredictor(url, api_key=KEY) as remote:
            assert remote.description["max_expressions"] == 64
        (tmp_path / "images").mkdir()
        (tmp_path / "images" / "scene.png").write_bytes(encode_image(pixels, "PNG"))
        monkeypatch.setenv("HARIS_API_KEY", KEY)
        arguments = ["predict", "--server", url, str(tmp_path / "images"), "-e", texts[0], "--out", str(tmp_path / "predicted")]
        assert main(arguments) == 0
    assert json.loads((tmp_path / "predicted" / "predictions.json").read_text())["model"]["service"] == url
