"""Starting and stopping `haris serve`: Ray (started here, or an existing cluster), Serve, the app.

`run_service` is the command: it starts the service, waits until every replica answers, prints the
URLs (the API, the metrics) and serves until Ctrl-C or SIGTERM. Then it drains: every replica
refuses new requests (503, and readiness 503) and finishes those it holds, bounded by the time
limit; only then is the application deleted and, started here, Serve and Ray stopped. Attached to
a cluster (`address`), the cluster keeps running.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import os
import signal
import threading
import time
import urllib.error
import urllib.request
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

from haris.errors import HarisError
from haris.ray_session import start_ray
from haris.runtime.engine_choice import choice_line
from haris.serve.api_keys import is_loopback, service_keys
from haris.serve.service_settings import APP_NAME, ServiceSettings

log = logging.getLogger(__name__)

# Ray Serve's request path set for a replica that batches (it raised the service's throughput:
# docs/serving.md, One machine): gRPC from the proxy to the replicas, user code and the
# router on their processes' event loops (the model runs in a worker thread), Serve's logs (one
# access line per request and process) buffered into its log files instead of stderr, the start-up
# objects kept out of garbage collection.
# Serve's processes read these when they start: set before Ray starts here (a value already in the
# environment wins); on a cluster, each node's `ray start` needs them.
SERVE_ENVIRONMENT = {
    "RAY_SERVE_USE_GRPC_BY_DEFAULT": "1",
    "RAY_SERVE_RUN_USER_CODE_IN_SEPARATE_THREAD": "0",
    "RAY_SERVE_RUN_ROUTER_IN_SEPARATE_LOOP": "0",
    "RAY_SERVE_REQUEST_PATH_LOG_BUFFER_SIZE": "1000",
    "RAY_SERVE_LOG_TO_STDERR": "0",
    "RAY_SERVE_FREEZE_GC_ON_STARTUP": "1",
}


def start_service(settings: ServiceSettings, ray_options: dict[str, Any] | None = None, timeout_s: float = 300.0) -> str:
    """Deploy the application and return its URL once /v1/health answers 200. `ray_options` go to
    ray.init when it starts Ray here (e.g. num_cpus); a cluster's resources are its own."""
    import ray
    from ray import serve

    from haris.serve.service_app import segmenter_app

    if not settings.address:  # on a cluster, the bundle is where the replicas run, maybe not here
        settings.check_bundle()
        # Ray's processes start in haris_root(), where a relative path means something else
        settings = dataclasses.replace(settings, bundle=str(Path(settings.bundle).resolve()))
    if not ray.is_initialized():
        start_ray_for_serve(settings.address, ray_options)
    serve.start(
        http_options={"host": settings.host, "port": settings.port},
        proxy_location="EveryNode" if settings.proxy_on_every_node else "HeadOnly",
    )
    try:
        serve.run(segmenter_app(settings), name=APP_NAME, route_prefix="/")
        wait_until_healthy(settings.url, timeout_s)
    except BaseException:
        stop_service(settings)
        raise
    return settings.url


def start_ray_for_serve(address: str | None, ray_options: dict[str, Any] | None = None) -> None:
    """Ray started here with Serve's environment (`ray_options` its resources), or the cluster at `address`."""
    if not address:
        tune_serve_environment(os.environ)
    start_ray(address, ray_options)


def tune_serve_environment(environment: MutableMapping[str, str]) -> None:
    """Add SERVE_ENVIRONMENT to `environment` (os.environ before Ray starts, or a `ray start`'s);
    a variable already set keeps its value."""
    for name, value in SERVE_ENVIRONMENT.items():
        environment.setdefault(name, value)


def stop_service(settings: ServiceSettings) -> None:
    """Drain (drain_service), then delete the application and, started here, stop Serve and Ray."""
    import ray
    from ray import serve

    if not ray.is_initialized():
        return
    try:
        drain_service(settings.request_timeout_s + 5)
        serve.delete(APP_NAME)  # the cluster and its other applications stay
        if not settings.address:
            serve.shutdown()
    finally:
        ray.shutdown()


def drain_service(timeout_s: float) -> bool:
    """Tell every replica to refuse new requests (503, readiness 503) and wait until none holds a
    request, at most `timeout_s`; whether they all drained (False also when the application is gone).

    The ServiceHub is called from a task in the cluster, not from here: a deployment handle made in
    this process leaves Serve's router polling the controller after ray.shutdown, and on a cluster
    (where Serve stays up) that poll starts a new local Ray in this process, which then cannot exit."""
    import ray

    try:
        return ray.get(ray.remote(num_cpus=0)(_drain_from_the_cluster).remote(timeout_s), timeout=timeout_s + 30)
    except Exception:  # no application (it failed to start), or its hub gone: nothing left to drain
        log.warning("the service could not be drained before it stopped", exc_info=True)
        return False


def _drain_from_the_cluster(timeout_s: float) -> bool:
    """drain_service's task: in a Ray worker, whose router goes with the worker."""
    return asyncio.run(_drain(timeout_s))


async def _drain(timeout_s: float) -> bool:
    from ray import serve

    from haris.serve.service_hub import HUB_NAME

    hub = serve.get_deployment_handle(HUB_NAME, APP_NAME)
    try:
        async with asyncio.timeout(timeout_s):
            await hub.begin_drain.remote()
            while not await hub.drained.remote():
                await asyncio.sleep(0.1)
        return True
    except TimeoutError:
        log.warning("the replicas still held requests after %.0f s of draining; stopping anyway", timeout_s)
        return False


def run_service(settings: ServiceSettings) -> None:
    """Serve until interrupted (Ctrl-C or SIGTERM), then stop what was started."""
    stop = threading.Event()
    original = signal.getsignal(signal.SIGTERM)
    keys = service_keys(settings.api_key_file, os.environ)
    if not keys and not is_loopback(settings.host):
        log.warning("serving on %s without API keys: anyone who reaches the port may use it (--api-key-file or HARIS_API_KEYS)", settings.host)
    try:
        url = start_service(settings)
        # Installed after ray.init, whose own SIGTERM handler would abort the process before cleaning up.
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        log.info("haris serve: %s/v1/segment answers (API at %s/docs); SIGTERM to this process drains and stops it; Ctrl-C stops it", url, url)
        log.info("haris serve: metrics at %s/metrics; probes %s/v1/health/live and %s/v1/health/ready", url, url, url)
        log.info("haris serve: %s", "API keys required" if keys else "no API key required")
        log.info("haris serve: %s", choice_line(model_description(url, sorted(keys)[0] if keys else None)))
        while not stop.wait(1.0):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        stop_service(settings)
        signal.signal(signal.SIGTERM, original)


def model_description(url: str, api_key: str | None = None) -> dict[str, Any]:
    """What a replica of the service at `url` runs (GET /v1/model), with the engine it chose."""
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    with urllib.request.urlopen(urllib.request.Request(f"{url}/v1/model", headers=headers), timeout=10) as response:
        return json.loads(response.read())["model"]


def wait_until_healthy(url: str, timeout_s: float) -> dict[str, Any]:
    """GET /v1/health until it answers 200; HarisError with the last answer after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    last = "no answer"
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/v1/health", timeout=5) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as error:
            last = f"{error.code} {error.read().decode(errors='replace')[:300]}"
        except (urllib.error.URLError, OSError) as error:
            last = str(error)
        time.sleep(0.25)
    raise HarisError(f"{url} was not healthy after {timeout_s:.0f} s: {last}")
