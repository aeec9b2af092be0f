"""A Segmenter replica killed (ray.kill) while requests run: every request is still answered (Serve
answers 500 for the requests the dead replica held, and the client retries them), and Serve
restores two replicas."""

from __future__ import annotations

import contextlib
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import ray
from runtime_samples import demo_scenes, encode_image
from service_requests import post, segment_form

from haris.client import SegmentClient, image_key
from haris.errors import ServiceError

pytestmark = pytest.mark.serve


def test_a_killed_replica_loses_no_request_and_comes_back(service):
    url = service[0]
    replicas = _replica_names(url)
    assert len(replicas) == 2
    client = SegmentClient(url, retries=5)
    scenes = demo_scenes(24, seed=7)
    with ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(client.segment, pixels, expressions[:2]) for pixels, expressions in scenes]
        while sum(future.done() for future in futures) < 4:
            time.sleep(0.02)
        ray.kill(ray.get_actor(replicas[0], namespace="serve"), no_restart=True)
        answers = [future.result() for future in futures]  # a lost request raises here
    assert [len(answer["results"]) for answer in answers] == [2] * len(scenes)
    health = _wait_for_running_replicas(client, 2, timeout_s=90)
    assert health["status"] == "ok"
    assert replicas[0] not in _replica_names(url)


def _replica_names(url: str) -> list[str]:
    """The actor names of the replicas that answer requests for distinct images (both, normally)."""
    names: set[str] = set()
    for pixels, expressions in demo_scenes(8, seed=11):
        image = encode_image(pixels, "PNG")
        status, _, headers = post(f"{url}/v1/segment", *segment_form(image, expressions[:1]), routing_key=image_key(image))
        assert status == 200
        names.add({name.lower(): value for name, value in headers.items()}["x-haris-replica"])
    return sorted(names)


def _wait_for_running_replicas(client: SegmentClient, count: int, timeout_s: float) -> dict:
    deadline = time.monotonic() + timeout_s
    health: dict = {}
    while time.monotonic() < deadline:
        with contextlib.suppress(ServiceError):  # 503 while the new replica starts
            health = client.health()
            if health["deployments"]["Segmenter"]["replicas"] == {"RUNNING": count}:
                return health
        time.sleep(0.5)
    raise AssertionError(f"not back to {count} running replicas after {timeout_s} s: {health}")
