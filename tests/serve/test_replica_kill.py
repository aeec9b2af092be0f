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

from haris.errors import ServiceError
from haris.serve.segment_client import SegmentClient, image_key

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
    _wait_for_replacement(client, replicas[0], timeout_s=90)  # raises if Serve has not replaced it


def _replica_names(url: str) -> list[str]:
    """The actor names of the replicas that answer requests for distinct images (both, normally)."""
    names: set[str] = set()
    for pixels, expressions in demo_scenes(8, seed=11):
        image = encode_image(pixels, "PNG")
        status, _, headers = post(f"{url}/v1/segment", *segment_form(image, expressions[:1]), routing_key=image_key(image))
        assert status == 200
        names.add({name.lower(): value for name, value in headers.items()}["x-haris-replica"])
    return sorted(names)


def _live_replicas() -> set[str]:
    """The Segmenter replicas' actor names that Ray lists as alive (a killed actor leaves at once)."""
    actors = ray.util.list_named_actors(all_namespaces=True)
    return {actor["name"] for actor in actors if actor["namespace"] == "serve" and "#Segmenter#" in actor["name"]}


def _wait_for_replacement(client: SegmentClient, killed: str, timeout_s: float) -> None:
    """Return once Ray has two live replicas, the killed one not among them, and the health is 200
    with two running; raise after `timeout_s`. The health alone is not enough: until Serve's next
    health check notices the kill (every 2 s), it still counts the dead replica as running."""
    deadline = time.monotonic() + timeout_s
    health: dict = {}
    live: set[str] = set()
    while time.monotonic() < deadline:
        live = _live_replicas()
        with contextlib.suppress(ServiceError):  # 503 while the new replica starts
            health = client.health()
            if len(live) == 2 and killed not in live and health["deployments"]["Segmenter"]["replicas"] == {"RUNNING": 2}:
                return
        time.sleep(0.5)
    raise AssertionError(f"no replacement for {killed} after {timeout_s} s: health {health}, live replicas {sorted(live)}")
