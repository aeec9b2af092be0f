"""What a 503 from /v1/health names: the deployments that are not HEALTHY, with their replicas."""

from __future__ import annotations

from haris.serve.service_status import unready_summary


def test_the_summary_names_each_unhealthy_deployment_and_its_replicas():
    states = {
        "Segmenter": {"status": "UNHEALTHY", "replicas": {"RUNNING": 1, "STARTING": 1}, "message": "A replica's health check failed."},
        "Other": {"status": "HEALTHY", "replicas": {"RUNNING": 2}},
    }
    assert unready_summary(states) == "Segmenter is UNHEALTHY (replicas: 1 RUNNING, 1 STARTING)"
