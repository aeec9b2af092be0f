"""One replica's Prometheus metrics, all named `haris_*`, in a registry of its own.

Requests by route and status, their end-to-end seconds (arrival at the replica to answer), the
seconds of each pipeline stage per batch (the Predictor's StageTimer), the batch sizes, the
feature cache's hits and misses (the Predictor's own counters) and the requests the replica holds
(its queue, serve/request_gate.py). `snapshot()` is what the replica reports to the ServiceHub,
which serves every replica's metrics together at `/metrics`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, Metric

from haris.runtime.feature_cache import FeatureCache

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64)


class ReplicaMetrics:
    def __init__(self, cache: Callable[[], FeatureCache], queued: Callable[[], int]) -> None:
        """`cache` gives the Predictor's feature cache, `queued` the requests the replica holds: read at each snapshot."""
        self.registry = registry = CollectorRegistry()
        self.requests = Counter("haris_requests", "Requests answered, by route and HTTP status", ["route", "status"], registry=registry)
        self.latency = Histogram(
            "haris_request_seconds", "Seconds from a request's arrival to its answer", ["route"], buckets=LATENCY_BUCKETS, registry=registry
        )
        self.stages = Histogram("haris_stage_seconds", "Seconds of each stage per batch", ["stage"], buckets=LATENCY_BUCKETS, registry=registry)
        self.batch_size = Histogram("haris_batch_size", "Requests per batch run by the Predictor", buckets=BATCH_BUCKETS, registry=registry)
        queue = Gauge("haris_queue_length", "Requests this replica holds: reading, waiting for their batch, or in it", registry=registry)
        queue.set_function(lambda: float(queued()))
        registry.register(_CacheCounters(cache))

    def answered(self, route: str, status: int, seconds: float) -> None:
        self.requests.labels(route, str(status)).inc()
        self.latency.labels(route).observe(seconds)

    def batch(self, size: int, stage_seconds: dict[str, float]) -> None:
        self.batch_size.observe(size)
        for stage, seconds in stage_seconds.items():
            if seconds > 0:  # a stage that did not run (every image cached) is no observation
                self.stages.labels(stage).observe(seconds)

    def snapshot(self) -> list[Metric]:
        return list(self.registry.collect())


class _CacheCounters:
    """The feature cache's hit and miss counts, read from the cache when collected."""

    def __init__(self, cache: Callable[[], FeatureCache]) -> None:
        self.cache = cache

    def collect(self) -> Iterator[Any]:
        cache = self.cache()
        yield CounterMetricFamily("haris_feature_cache_hits", "Images found in the replica's feature cache", value=cache.hits)
        yield CounterMetricFamily("haris_feature_cache_misses", "Images encoded because the feature cache did not hold them", value=cache.misses)
