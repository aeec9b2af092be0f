"""`haris serve --address`: a two-node Ray cluster on the loopback, one replica on each node serving
the bundle's INT8 graphs, and requests answered by both; the command, then the cluster, stopped at
the end."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from local_ports import free_port
from ray_cluster import two_node_cluster
from runtime_samples import demo_scenes, encode_image
from service_requests import post, segment_form

from haris.serve.segment_client import SegmentClient, image_key
from haris.serve.service_runner import wait_until_healthy

pytestmark = pytest.mark.serve


def test_replicas_on_two_nodes_both_answer(int8_bundle, tmp_path):
    port = free_port()
    haris = str(Path(sys.executable).with_name("haris"))
    with two_node_cluster(cpus_per_node=1) as (address, environment):
        command = [haris, "serve", str(int8_bundle), "--address", address, "--precision", "int8", "--replicas", "2", "--num-cpus", "1"]
        command += ["--port", str(port)]
        with (tmp_path / "serve.log").open("wb") as log:
            # cwd: not the checkout, whose folders Ray would put first on its workers' path
            serving = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, env=environment, cwd=tmp_path)
        try:
            health = wait_until_healthy(f"http://127.0.0.1:{port}", timeout_s=180)
            assert health["deployments"]["Segmenter"]["replicas"] == {"RUNNING": 2}
            assert SegmentClient(f"http://127.0.0.1:{port}").model()["model"]["precision"] == "int8"
            answers = _segment_distinct_images(f"http://127.0.0.1:{port}/v1/segment", count=16)
        finally:
            os.killpg(serving.pid, signal.SIGTERM)  # run_service deletes the application, the cluster stays
            try:
                serving.wait(timeout=60)
            except subprocess.TimeoutExpired:  # a hung stop still fails the test below, but leaves no process
                os.killpg(serving.pid, signal.SIGKILL)
                serving.wait()
        assert serving.returncode == 0, (tmp_path / "serve.log").read_text()[-2000:]
    assert all(status == 200 and len(body["results"]) == 2 for status, body, _ in answers)
    nodes = {headers["x-haris-node"] for _, _, headers in answers}
    replicas = {headers["x-haris-replica"] for _, _, headers in answers}
    assert len(nodes) == 2 and len(replicas) == 2, (nodes, replicas)


def _segment_distinct_images(url: str, count: int) -> list[tuple[int, dict, dict]]:
    """`count` requests, 4 at a time, each for another image with its routing key, as SegmentClient
    sends them: the keys' hashes spread them over the replicas."""
    images = [(encode_image(pixels, "PNG"), expressions[:2]) for pixels, expressions in demo_scenes(count)]
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda item: post(url, *segment_form(*item), routing_key=image_key(item[0])), images))
    return [(status, body, {name.lower(): value for name, value in headers.items()}) for status, body, headers in answers]
