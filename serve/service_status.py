"""The service's state as `/v1/health` reports it: per deployment, its status and replicas by state."""

from __future__ import annotations

from typing import Any

from ray import serve


def deployment_states() -> dict[str, dict[str, Any]]:
    """Per deployment of the application this replica belongs to: its status and replica counts by state."""
    application = serve.status().applications[serve.get_replica_context().app_name]
    return {
        name: {"status": _name(deployment.status), "replicas": {_name(state): count for state, count in deployment.replica_states.items()}}
        for name, deployment in application.deployments.items()
    }


def _name(state: Any) -> str:
    return str(getattr(state, "value", state))  # Serve's status enums, as their names
