"""The ServiceHub without Ray: the replicas' metrics merged into one Prometheus text (every family
once, every sample labelled with its replica, the feature cache and queue read live), and the
drain's signal and its end."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from haris.runtime.feature_cache import FeatureCache
from haris.serve.service_hub import ServiceHub
from haris.serve.service_metrics import ReplicaMetrics


def _replica(hits: int, queued: int, statuses: list[int]) -> ReplicaMetrics:
    cache = FeatureCache(1 << 20)
    cache.hits, cache.misses = hits, 1
    metrics = ReplicaMetrics(lambda: cache, lambda: queued)
    for status in statuses:
        metrics.answered("segment", status, 0.04)
    metrics.batch(3, {"image_encoder": 0.02, "decoder": 0.01, "fusion": 0.0})
    return metrics


def test_the_hub_serves_every_replicas_metrics_labelled_with_its_replica():
    hub = ServiceHub.func_or_class()
    hub.report("a", _replica(hits=5, queued=2, statuses=[200, 200, 503]).snapshot(), 2)
    hub.report("b", _replica(hits=1, queued=0, statuses=[401]).snapshot(), 0)
    families = {family.name: family for family in text_string_to_metric_families(hub.exposition().decode())}
    assert {"haris_requests", "haris_request_seconds", "haris_stage_seconds", "haris_batch_size", "haris_queue_length"} <= set(families)
    assert {"haris_feature_cache_hits", "haris_feature_cache_misses"} <= set(families)
    requests = {(s.labels["replica"], s.labels["status"]): s.value for s in families["haris_requests"].samples if s.name == "haris_requests_total"}
    assert requests == {("a", "200"): 2, ("a", "503"): 1, ("b", "401"): 1}
    hits = {s.labels["replica"]: s.value for s in families["haris_feature_cache_hits"].samples if s.name == "haris_feature_cache_hits_total"}
    assert hits == {"a": 5, "b": 1}
    assert {s.labels["replica"]: s.value for s in families["haris_queue_length"].samples} == {"a": 2, "b": 0}
    stages = {s.labels["stage"] for s in families["haris_stage_seconds"].samples if s.name == "haris_stage_seconds_count"}
    assert stages == {"image_encoder", "decoder"}  # a stage that did not run is no observation


def test_the_drain_is_told_to_every_reporting_replica_and_ends_when_none_holds_a_request():
    hub = ServiceHub.func_or_class()
    assert hub.report("a", [], 3) is False and hub.report("b", [], 0) is False and not hub.drained()
    hub.begin_drain()
    assert not hub.drained()  # nobody has reported since
    assert hub.report("a", [], 1) is True and hub.report("b", [], 0) is True and not hub.drained()
    hub.report("a", [], 0)
    assert hub.drained()
