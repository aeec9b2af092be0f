"""The Ray Serve application of `haris serve`: N Segmenter replicas, each its own HTTP front."""

from __future__ import annotations

from ray.serve import Application
from ray.serve.config import RequestRouterConfig

from haris.serve.segmenter import Segmenter
from haris.serve.service_settings import ServiceSettings

IMAGE_ROUTER = "ray.serve.experimental.consistent_hash_router.ConsistentHashRouter"


def build_app(settings: ServiceSettings) -> Application:
    return Segmenter.options(
        num_replicas=settings.replicas,
        ray_actor_options={"num_cpus": settings.num_cpus, "num_gpus": settings.num_gpus},
        request_router_config=RequestRouterConfig(request_router_class=IMAGE_ROUTER),
    ).bind(
        str(settings.bundle),
        settings.backend,
        settings.replica_device,
        settings.precision,
        settings.replica_threads,
        {"max_requests": settings.max_batch_requests, "wait_s": settings.batch_wait_s},
        settings.limits,
    )
