"""The shared service as an operator sees it: liveness and readiness, the metrics moving with the
requests, a burst past a replica's bound answered 503 with Retry-After, a request over its time
limit answered 504, and an unknown path answered JSON; all JSON, none leaking internals."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
from prometheus_client.parser import text_string_to_metric_families
from runtime_samples import demo_scenes, encode_image
from service_requests import post, segment_form

from haris.serve.request_gate import TIMEOUT_HEADER
from haris.serve.segment_client import image_key

pytestmark = pytest.mark.serve


def _get(url: str) -> tuple[int, bytes, dict]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, error.read(), dict(error.headers)


def _counters(url: str) -> dict[tuple[str, ...], float]:
    """(sample name, status or stage or '') -> value summed over the replicas, from /metrics."""
    status, body, headers = _get(f"{url}/metrics")
    assert status == 200 and headers["content-type"].startswith("text/plain")
    totals: dict[tuple[str, ...], float] = {}
    for family in text_string_to_metric_families(body.decode()):
        assert family.name.startswith("haris_"), family.name
        for sample in family.samples:
            key = (sample.name, sample.labels.get("status") or sample.labels.get("stage") or "")
            totals[key] = totals.get(key, 0.0) + sample.value
    return totals


def test_liveness_and_readiness_answer_200_while_every_replica_runs(service):
    assert _get(f"{service[0]}/v1/health/live")[0] == 200
    status, body, _ = _get(f"{service[0]}/v1/health/ready")
    assert status == 200 and b'"status":"ok"' in body


def test_the_metrics_count_requests_stages_batches_and_the_feature_cache(service):
    url = service[0]
    before = _counters(url)
    pixels, expressions = demo_scenes(1, seed=41)[0]
    image = encode_image(pixels, "PNG")
    for _ in range(2):  # the second finds the image in the cache of the replica its key routes to
        assert post(f"{url}/v1/segment", *segment_form(image, expressions[:2]), routing_key=image_key(image))[0] == 200
    assert post(f"{url}/v1/segment", b"{}", "application/json")[0] == 400
    moved = {}
    deadline = time.monotonic() + 10  # replicas report every second
    while time.monotonic() < deadline:
        after = _counters(url)
        moved = {key: after.get(key, 0.0) - before.get(key, 0.0) for key in after}
        if moved.get(("haris_requests_total", "200"), 0) >= 2 and moved.get(("haris_requests_total", "400"), 0) >= 1:
            break
        time.sleep(0.5)
    assert moved[("haris_requests_total", "200")] >= 2 and moved[("haris_requests_total", "400")] >= 1, moved
    assert moved[("haris_request_seconds_count", "")] >= 3 and moved[("haris_batch_size_count", "")] >= 2
    assert moved[("haris_stage_seconds_count", "image_encoder")] >= 1 and moved[("haris_stage_seconds_count", "decoder")] >= 2
    assert moved[("haris_feature_cache_hits_total", "")] >= 1 and moved[("haris_feature_cache_misses_total", "")] >= 1
    assert ("haris_queue_length", "") in after


def test_a_burst_past_a_replicas_bound_gets_503_json_with_retry_after(service):
    """24 requests at once for one image (one replica, by its key), each with 16 expressions, on
    replicas that hold 4 requests each: those past the bound are refused at once, the rest answered."""
    pixels, expressions = demo_scenes(1, seed=42)[0]
    image = encode_image(pixels, "PNG")
    body = segment_form(image, (expressions * 8)[:16])
    with ThreadPoolExecutor(24) as pool:
        answers = list(pool.map(lambda _: post(f"{service[0]}/v1/segment", *body, routing_key=image_key(image)), range(24)))
    statuses = sorted(status for status, _, _ in answers)
    print(f"burst: {statuses.count(200)} answered, {statuses.count(503)} refused")
    assert set(statuses) == {200, 503}, statuses
    for status, answer, headers in answers:
        if status == 503:
            assert set(answer) == {"error"} and "busy" in answer["error"] and {k.lower(): v for k, v in headers.items()}["retry-after"] == "1"


def test_a_request_over_its_time_limit_gets_504_json(service):
    pixels, expressions = demo_scenes(1, seed=43)[0]
    body, content_type = segment_form(encode_image(pixels, "PNG"), expressions[:4])
    request = urllib.request.Request(f"{service[0]}/v1/segment", data=body, headers={"Content-Type": content_type, TIMEOUT_HEADER: "0.001"})
    with pytest.raises(urllib.error.HTTPError) as late:
        urllib.request.urlopen(request, timeout=30)
    assert late.value.code == 504 and "time limit of 0.001 s" in late.value.read().decode()


def test_an_unknown_path_is_a_json_404(service):
    status, body, headers = _get(f"{service[0]}/v2/segment")
    assert status == 404 and headers["content-type"] == "application/json" and body == b'{"error":"Not Found"}'
