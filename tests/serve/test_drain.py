"""SIGTERM to `haris serve` under load: the requests in flight are all answered (no client retry),
new ones are refused with 503 JSON while it drains (readiness 503 too), nothing is cut off
mid-answer, and the command exits 0. The clients stop sending once refused, as a load balancer
that follows readiness stops sending to a stopping instance."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from pathlib import Path

import pytest
from local_ports import free_port
from runtime_samples import demo_scenes, encode_image
from service_process import raw_request, service_process
from service_requests import segment_form

from haris.serve.segment_client import ROUTING_HEADER, image_key
from haris.serve.service_runner import wait_until_healthy

pytestmark = pytest.mark.serve
CLIENTS = 6


def test_sigterm_answers_every_request_in_flight_and_cuts_none(tiny_bundle, tmp_path):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [str(Path(sys.executable).with_name("haris")), "serve", str(tiny_bundle), "--replicas", "1", "--port", str(port)]
    bodies = [(segment_form(encode_image(pixels, "PNG"), texts[:2]), image_key(encode_image(pixels, "PNG"))) for pixels, texts in demo_scenes(12)]
    outcomes: list[tuple[float, float, int | str]] = []  # (sent, answered, status or connection error)
    stop = threading.Event()

    def client(index: int) -> None:
        while not stop.is_set():
            (body, content_type), key = bodies[(index + len(outcomes)) % len(bodies)]
            sent = time.monotonic()
            status, answer, _ = raw_request(f"{url}/v1/segment", body, {"Content-Type": content_type, ROUTING_HEADER: key})
            outcomes.append((sent, time.monotonic(), status))
            if status == 503:
                assert b"the service is stopping" in answer, answer
            if status in (503, "ConnectionRefusedError"):
                return  # this instance is stopping: send no more to it

    with service_process(command, tmp_path / "serve.log", tmp_path) as serving:
        wait_until_healthy(url, timeout_s=180)
        threads = [threading.Thread(target=client, args=(index,)) for index in range(CLIENTS)]
        for thread in threads:
            thread.start()
        time.sleep(3.0)
        signalled = time.monotonic()
        os.kill(serving.pid, signal.SIGTERM)  # the command alone, as `docker stop` or Kubernetes signal PID 1: Ray's processes drain with it
        readiness = []
        while 503 not in readiness and time.monotonic() < signalled + 10:
            readiness.append(raw_request(f"{url}/v1/health/ready", timeout=5)[0])
            time.sleep(0.1)
        serving.wait(timeout=120)
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
    log = (tmp_path / "serve.log").read_text(errors="replace")[-3000:]
    in_flight = [status for sent, answered, status in outcomes if sent < signalled < answered]
    after = [status for sent, _, status in outcomes if sent >= signalled]
    print(f"drain: {len(in_flight)} requests in flight at SIGTERM, all {set(in_flight)}; {len(after)} sent after it: {sorted(set(map(str, after)))}")
    assert serving.returncode == 0, log
    assert in_flight and set(in_flight) == {200}, (in_flight, log)
    # Sent after the SIGTERM: answered (before the replica heard of it), or refused before any work.
    assert set(after) <= {200, 503, "ConnectionRefusedError"} and 503 in after, (after, log)
    assert 503 in readiness, readiness
