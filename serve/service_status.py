"""The service's state as `/v1/health` reports it: per deployment, its status and replicas by state."""

from __future__ import annotations

from typing import Any

from ray import serve


def deployment_states() -> dict[str, dict[str, Any]]:
    """Per deployment of the application this replica belongs to: its status, replica counts by
    state and, when Serve gives one, its reason (e.g. that a replica failed its health check)."""
    application = serve.status().applications[serve.get_replica_context().app_name]
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
