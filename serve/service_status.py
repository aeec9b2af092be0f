"""The service's state as `/v1/health` and `/v1/health/ready` report it: per deployment, its status
and replicas by state; and, for readiness, whether the application is stopping (draining)."""

from __future__ import annotations

from typing import Any

from ray import serve

STOPPING = "the service is stopping: it finishes the requests it holds and takes no more"


def service_health(readiness: bool) -> tuple[dict[str, Any], bool]:
    """(the body, whether healthy): every deployment HEALTHY; for `readiness`, also the application
    running, not being deleted (a `haris serve` that got SIGTERM drains, and says so here)."""
    application = serve.status().applications[serve.get_replica_context().app_name]
    deployments = deployment_states(application)
    problems = [unready_summary(deployments)] if any(state["status"] != "HEALTHY" for state in deployments.values()) else []
    stopping = readiness and _name(application.status) == "DELETING"
    if stopping:
        problems.insert(0, STOPPING)
    body: dict[str, Any] = {"status": "stopping" if stopping else "starting" if problems else "ok", "deployments": deployments}
    if problems:
        body["error"] = f"not ready: {'; '.join(problems)}" if stopping else f"not every replica is running yet: {problems[0]}"
    return body, not problems


def deployment_states(application: Any) -> dict[str, dict[str, Any]]:
    """Per deployment of `application` (Serve's status of it): its status, replica counts by
    state and, when Serve gives one, its reason (e.g. that a replica failed its health check)."""
    states = {}
    for name, deployment in application.deployments.items():
        state = {"status": _name(deployment.status), "replicas": {_name(replica): count for replica, count in deployment.replica_states.items()}}
        if deployment.message:
            state["message"] = deployment.message
        states[name] = state
    return states


def unready_summary(states: dict[str, dict[str, Any]]) -> str:
    """The deployments that are not HEALTHY, with their replica counts: what a 503 names."""
    return "; ".join(
        f"{name} is {state['status']} (replicas: {', '.join(f'{count} {replica}' for replica, count in state['replicas'].items())})"
        for name, state in states.items()
        if state["status"] != "HEALTHY"
    )


def _name(state: Any) -> str:
    return str(getattr(state, "value", state))  # Serve's status enums, as their names
