"""The Ray Serve application of `haris serve`: N Segmenter replicas, each its own HTTP front, and
the ServiceHub that gathers their metrics.

`build_app` is the application builder for Ray Serve's own tooling: `serve run
haris.serve.service_app:build_app bundle=/srv/bundles/tiny replicas=2`, or a config file's
`import_path` with its `args` (`haris serve BUNDLE --write-config FILE` writes one; service_config.py).
Its args are ServiceSettings' application fields (`ServiceSettings.to_args`). The API keys are read
where the builder runs (the `serve run` process, or the cluster's head for a config deployed there):
from `api_key_file` and `HARIS_API_KEYS`, and handed to the replicas, never written in a config.
"""

from __future__ import annotations

import os
from typing import Any

from ray.serve import Application
from ray.serve.config import RequestRouterConfig

from haris.serve.api_keys import service_keys
from haris.serve.segmenter import Segmenter
from haris.serve.service_hub import ServiceHub
from haris.serve.service_settings import ServiceSettings

IMAGE_ROUTER = "ray.serve.experimental.consistent_hash_router.ConsistentHashRouter"
# Room above the queue bound, so that the replica itself, not Serve's router, turns the next request away (with JSON).
ONGOING_MARGIN = 8


def build_app(args: dict[str, Any]) -> Application:
    """The application from a builder's args (Serve's convention: one dict, a config file's `args`)."""
    return segmenter_app(ServiceSettings.from_args(args))


def segmenter_app(settings: ServiceSettings) -> Application:
    admission = {
        "keys": sorted(service_keys(settings.api_key_file, os.environ)),
        "max_queued": settings.max_queued_requests,
        "timeout_s": settings.request_timeout_s,
    }
    return Segmenter.options(
        num_replicas=settings.replicas,
        ray_actor_options={"num_cpus": settings.num_cpus, "num_gpus": settings.num_gpus},
        request_router_config=RequestRouterConfig(request_router_class=IMAGE_ROUTER),
        max_ongoing_requests=settings.max_queued_requests + ONGOING_MARGIN,
        # On SIGTERM a replica finishes what it holds: at most a time limit's worth (then its requests got 504).
        graceful_shutdown_timeout_s=settings.request_timeout_s + 5,
        graceful_shutdown_wait_loop_s=0.5,
    ).bind(
        str(settings.bundle),
        settings.backend,
        settings.replica_device,
        settings.precision,
        settings.replica_threads,
        {"max_requests": settings.max_batch_requests, "wait_s": settings.batch_wait_s},
        settings.limits,
        admission,
        ServiceHub.bind(),
    )
