"""`haris bench serve`: throughput and latency of `haris serve` under load, against the in-process
Predictor on the same machine, and a replica killed mid-load (docs/serving.md records a run).

Every request is a new image (a demo scene with one pixel changed), so nothing is served from a
feature cache; request bodies (JSON, base64 PNG) are built before timing. The in-process figure is
one Predictor using every core, fed the same encoded images one request after another (what a
script calling `segment` gets). The load generator is an asyncio client (aiohttp, from the serve
extra) with N concurrent clients in a closed loop; it runs on the same machine as the service, so
on a small machine it takes CPU from the replicas, and the figures include that.

Every answer is tallied by status. A 503 (a replica at its queue bound) is an answer, not a loss:
the client waits what its Retry-After says and sends its next request. Other failures (a killed
replica's 500, a refused connection) are retried, up to 6 tries; a request whose every try
failed is lost. Latency percentiles are of the 200s.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from haris.benchmarks.machine_info import describe_machine
from haris.data.synthetic.demo_scene import render_scene, scene_sentences
from haris.runtime.image_loading import load_rgb
from haris.runtime.predictor_factory import open_predictor
from haris.serve.request_limits import RequestLimits
from haris.serve.segment_client import RETRIED_STATUSES, ROUTING_HEADER, image_key
from haris.serve.service_runner import start_service, stop_service
from haris.serve.service_settings import ServiceSettings


def run_serve_load(
    bundle: str | Path,
    out: str | Path,
    concurrency: tuple[int, ...] = (1, 4, 16),
    seconds: float = 15.0,
    replicas: int = 2,
    expressions: int = 2,
    port: int = 8431,
    max_queued_requests: int = 32,
) -> dict[str, Any]:
    """Measure, write `serve_load.json` and `serve_load.md` under `out`, return the report;
    `max_queued_requests`: each replica's bound (past it, 503)."""
    cpus = os.cpu_count() or 1
    bodies = _request_bodies(bundle, expressions, count=4000)
    report: dict[str, Any] = {"machine": describe_machine(cpus), "bundle": str(bundle), "seconds": seconds, "replicas": replicas}
    report["max_queued_requests"] = max_queued_requests
    report["in_process"] = _in_process_throughput(bundle, bodies, cpus, seconds)
    settings = ServiceSettings(
        str(bundle), replicas=replicas, num_cpus=cpus / replicas, port=port, limits=RequestLimits(), max_queued_requests=max_queued_requests
    )
    start = time.perf_counter()
    url = start_service(settings, {"num_cpus": cpus, "log_to_driver": False})
    report["start_s"] = round(time.perf_counter() - start, 1)
    try:
        report["levels"] = [asyncio.run(_load(url, bodies, clients, seconds)) for clients in concurrency]
        report["replica_kill"] = asyncio.run(_load(url, bodies, max(concurrency), 2 * seconds, kill_at=2 * seconds / 3))
    finally:
        stop_service(settings)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "serve_load.json").write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    (out / "serve_load.md").write_text(serve_load_markdown(report), encoding="utf-8")
    return report


def _request_bodies(bundle: str | Path, expressions: int, count: int) -> list[tuple[bytes, list[str]]]:
    """(PNG bytes, expressions) of `count` distinct images: 32 demo scenes, one pixel changed per copy."""
    from PIL import Image

    image_size = json.loads((Path(bundle) / "manifest.json").read_text(encoding="utf-8"))["image_size"]
    scenes = [render_scene(index, 5, image_size) for index in range(32)]
    bodies = []
    for index in range(count):
        scene = scenes[index % len(scenes)]
        pixels = scene.pixels.copy()
        pixels[0, 0] = (index // 256 % 256, index % 256, 7)
        buffer = io.BytesIO()
        Image.fromarray(pixels).save(buffer, "PNG", compress_level=1)
        bodies.append((buffer.getvalue(), scene_sentences(scene)[:expressions]))
    return bodies


def _in_process_throughput(bundle: str | Path, bodies: list[tuple[bytes, list[str]]], threads: int, seconds: float) -> dict[str, Any]:
    """Requests per second of one Predictor (all cores) calling segment on each image's bytes in turn."""
    with open_predictor(bundle, threads=threads) as predictor:
        predictor.segment(load_rgb(bodies[-1][0]), bodies[-1][1])  # warm-up (first runs allocate)
        done, latencies, start = 0, [], time.perf_counter()
        while time.perf_counter() - start < seconds:
            began = time.perf_counter()
            predictor.segment(bodies[done % len(bodies)][0], bodies[done % len(bodies)][1])
            latencies.append(time.perf_counter() - began)
            done += 1
        elapsed = time.perf_counter() - start
    return {"threads": threads, "requests": done, "throughput": round(done / elapsed, 2), **_percentiles(latencies)}


async def _load(url: str, bodies: list[tuple[bytes, list[str]]], clients: int, seconds: float, kill_at: float | None = None) -> dict[str, Any]:
    """`clients` closed-loop clients for `seconds` (after 2 s of warm-up); failed requests are retried.
    With `kill_at`, a replica is killed that many seconds in; measured: the seconds from the kill
    until a replica that did not answer before it (the replacement) answers."""
    import aiohttp

    # What SegmentClient sends: the JSON body, and the image's hash in the header Serve routes by.
    payloads = [(json.dumps({"image": base64.b64encode(png).decode(), "expressions": texts}).encode(), image_key(png)) for png, texts in bodies]
    state = {"next": 0, "latencies": [], "retries": 0, "lost": 0, "replicas": set(), "measuring": False, "statuses": {}}
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as session:

        async def client() -> None:
            while not state.get("stop"):
                payload = payloads[state["next"] % len(payloads)]
                state["next"] += 1
                began = time.perf_counter()
                replica = await _post_with_retries(session, f"{url}/v1/segment", payload, state)
                if state["measuring"] and replica is not None:
                    state["latencies"].append(time.perf_counter() - began)
                    if "killed_at" in state and replica not in state["replicas"] and "new_replica_s" not in state:
                        state["new_replica_s"] = round(time.perf_counter() - state["killed_at"], 1)  # the replacement answers
                    state["replicas"].add(replica)

        tasks = [asyncio.create_task(client()) for _ in range(clients)]
        await asyncio.sleep(2.0)
        state.update(measuring=True, retries=0, lost=0, statuses={})
        start = time.perf_counter()
        if kill_at is not None:
            await asyncio.sleep(kill_at)
            state["killed"] = await asyncio.to_thread(_kill_one_replica, state["replicas"])
            state["killed_at"] = time.perf_counter()
            await asyncio.sleep(seconds - kill_at)
        else:
            await asyncio.sleep(seconds)
        state["measuring"] = False
        elapsed = time.perf_counter() - start
        state["stop"] = True
        await asyncio.gather(*tasks)
    answered = len(state["latencies"])
    result = {"clients": clients, "answered": answered, "lost": state["lost"], "retries": state["retries"]}
    result["statuses"] = {str(status): count for status, count in sorted(state["statuses"].items(), key=lambda item: str(item[0]))}
    result |= {"throughput": round(answered / elapsed, 2), **_percentiles(state["latencies"]), "replicas_seen": len(state["replicas"])}
    if kill_at is not None:
        running = await asyncio.to_thread(_running_replicas_once_healthy, url, 120.0)
        result |= {"killed": state["killed"], "new_replica_answered_s": state.get("new_replica_s"), "running_after": running}
    return result


async def _post_with_retries(session: Any, url: str, payload: tuple[bytes, str], state: dict[str, Any], tries: int = 6) -> str | None:
    """The answering replica's name; None for a 503 (after waiting its Retry-After) or when every
    try failed (a lost request). Each try's status (or "no answer") is tallied while measuring."""
    import aiohttp

    for attempt in range(tries):
        status: int | str = "no answer"
        try:
            body, key = payload
            async with session.post(url, data=body, headers={"Content-Type": "application/json", ROUTING_HEADER: key}) as response:
                await response.read()
                status = response.status
                _tally(state, status)
                if status == 200:
                    return response.headers["X-Haris-Replica"]
                if status == 503 and "Retry-After" in response.headers:  # busy: refused, answered; the next request after the wait
                    await asyncio.sleep(float(response.headers["Retry-After"]))
                    return None
                if status not in RETRIED_STATUSES:
                    break
        except (aiohttp.ClientError, asyncio.TimeoutError):
            _tally(state, status)
        state["retries"] += 1
        await asyncio.sleep(0.2 * 2**attempt)
    state["lost"] += 1
    return None


def _tally(state: dict[str, Any], status: int | str) -> None:
    if state["measuring"]:
        state["statuses"][status] = state["statuses"].get(status, 0) + 1


def _kill_one_replica(seen: set[str]) -> str:
    import ray

    name = sorted(seen)[0]
    ray.kill(ray.get_actor(name, namespace="serve"), no_restart=True)
    return name


def _running_replicas_once_healthy(url: str, timeout_s: float) -> int:
    """The Segmenter replicas running once /v1/health answers 200 (0 if it does not within `timeout_s`)."""
    import urllib.error
    import urllib.request

    deadline = time.perf_counter() + timeout_s
    while time.perf_counter() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/v1/health", timeout=5) as response:
                return json.loads(response.read())["deployments"]["Segmenter"]["replicas"].get("RUNNING", 0)
        except (urllib.error.URLError, OSError):
            time.sleep(0.25)
    return 0


def _percentiles(latencies: list[float]) -> dict[str, float]:
    if not latencies:
        return {"p50_ms": float("nan"), "p99_ms": float("nan")}
    values = np.asarray(latencies) * 1000
    return {"p50_ms": round(float(np.percentile(values, 50)), 1), "p99_ms": round(float(np.percentile(values, 99)), 1)}


def serve_load_markdown(report: dict[str, Any]) -> str:
    machine, baseline, kill = report["machine"], report["in_process"], report["replica_kill"]
    flags = " ".join(machine.get("cpu_flags", []))
    lines = [
        f"CPU: {machine['cpu_model']} ({machine['cpu_cores']} cores; {flags}); {report['replicas']} replicas, "
        f"each holding at most {report.get('max_queued_requests', '-')} requests; "
        f"{report['seconds']} s per level; every request a new image; service up in {report['start_s']} s",
        "",
        "| clients | requests/s (200) | of in-process | p50 ms | p99 ms | lost | retries | answers by status |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
        _row(f"in-process Predictor ({baseline['threads']} threads)", baseline, baseline),
        *[_row(str(level["clients"]), level, baseline) for level in report["levels"]],
        "",
        f"Replica killed a third into a {2 * report['seconds']} s run with {kill['clients']} clients: {kill['answered']} answered, "
        f"{kill['lost']} lost, {kill['retries']} client retries, {kill['throughput']} requests/s, p99 {kill['p99_ms']} ms; "
        f"the replacement replica answered {kill['new_replica_answered_s']} s after the kill; "
        f"{kill['running_after']} of {report['replicas']} replicas running at the end.",
        "",
    ]
    return "\n".join(lines)


def _row(name: str, level: dict[str, Any], baseline: dict[str, Any]) -> str:
    share = f"{100 * level['throughput'] / baseline['throughput']:.0f}%"
    statuses = ", ".join(f"{status}: {count}" for status, count in level.get("statuses", {}).items()) or "-"
    cells = [name, level["throughput"], share, level["p50_ms"], level["p99_ms"], level.get("lost", "-"), level.get("retries", "-"), statuses]
    return "| " + " | ".join(str(cell) for cell in cells) + " |"
