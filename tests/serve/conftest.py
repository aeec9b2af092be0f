"""A running service on the tiny bundle (Ray started in this process, 2 CPUs, 2 replicas), shared
by the `serve` tests and stopped after the last. Each test gets it healthy: a test that disturbs it
(a killed replica) must not fail the next one while Serve replaces what it lost."""

from __future__ import annotations

import pytest
from local_ports import free_port
from service_requests import SERVICE_LIMITS


@pytest.fixture(scope="session")
def running_service(tiny_bundle):
    """(url, settings) of a service with two replicas, each holding at most 4 requests (so that a
    burst meets the bound); Ray and Serve stop after the last test."""
    from haris.serve.service_runner import start_service, stop_service
    from haris.serve.service_settings import ServiceSettings

    settings = ServiceSettings(str(tiny_bundle), replicas=2, port=free_port(), limits=SERVICE_LIMITS, max_queued_requests=4)
    try:
        yield start_service(settings, {"num_cpus": 2, "log_to_driver": False}), settings
    finally:
        stop_service(settings)


@pytest.fixture
def service(running_service):
    """The shared service, once /v1/health answers 200 (every replica running)."""
    from haris.serve.service_runner import wait_until_healthy

    wait_until_healthy(running_service[0], timeout_s=120)
    return running_service
