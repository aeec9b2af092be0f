"""Starting and stopping `haris serve`: Ray (started here, or an existing cluster), Serve, the app.

`run_service` is the command: it starts the service, waits until every replica answers, prints the
URL and serves until Ctrl-C or SIGTERM. Started here, Ray and Serve stop with it; attached to a
cluster (`address`), only the application is deleted and the cluster keeps running.
"""

from __future__ import annotations

import json
import signal
import threading
import time
import urllib.error
import urllib.request
from typing import Any

from haris.errors import HarisError
from haris.serve.service_settings import APP_NAME, ServiceSettings


def start_service(settings: ServiceSettings, ray_options: dict[str, Any] | None = None, timeout_s: float = 300.0) -> str:
    """Deploy the application and return its URL once /v1/health answers 200. `ray_options` go to
    ray.init when it starts Ray here (e.g. num_cpus); a cluster's resources are its own."""
    import ray
    from ray import serve

    from haris.serve.service_app import build_app

    if not ray.is_initialized():
        options = {} if settings.address else {"include_dashboard": False, **(ray_options or {})}
        ray.init(address=settings.address, **options)
    serve.start(
        http_options={"host": settings.host, "port": settings.port},
        proxy_location="EveryNode" if settings.proxy_on_every_node else "HeadOnly",
    )
    try:
        serve.run(build_app(settings), name=APP_NAME, route_prefix="/")
        wait_until_healthy(settings.url, timeout_s)
    except BaseException:
        stop_service(settings)
        raise
    return settings.url


def stop_service(settings: ServiceSettings) -> None:
    import ray
    from ray import serve

    if not ray.is_initialized():
        return
    if settings.address:
        serve.delete(APP_NAME)  # the cluster and its other applications stay
    else:
        serve.shutdown()
    ray.shutdown()


def run_service(settings: ServiceSettings) -> None:
    """Serve until interrupted (Ctrl-C or SIGTERM), then stop what was started."""
    stop = threading.Event()
    original = signal.getsignal(signal.SIGTERM)
    try:
        url = start_service(settings)
        # Installed after ray.init, whose own SIGTERM handler would abort the process before cleaning up.
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        print(f"haris serve: {url}/v1/segment answers (API at {url}/docs); Ctrl-C stops", flush=True)
        while not stop.wait(1.0):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        stop_service(settings)
        signal.signal(signal.SIGTERM, original)


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
