"""`haris serve BUNDLE --write-config FILE`: the service as a Ray Serve config file.

`serve run FILE` starts it (Ray on this machine, or `serve deploy FILE` to a running cluster), and
its `applications` list is what a KubeRay RayService's `serveConfigV2` holds. The application is
`haris.serve.service_app:build_app` with the settings as its `args`; HTTP is Serve's
`http_options`. The file names the key file, never a key; Serve's request-path variables
(SERVE_ENVIRONMENT) are written as a comment, since Serve's processes read them from the
environment of `ray start` or `serve run`, not from the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from haris.atomic_file import write_atomically
from haris.serve.service_runner import SERVE_ENVIRONMENT
from haris.serve.service_settings import APP_NAME, ServiceSettings

BUILDER = "haris.serve.service_app:build_app"


def serve_config(settings: ServiceSettings) -> dict[str, Any]:
    """Serve's config schema (ServeDeploySchema) for `settings`, paths made absolute."""
    args = settings.to_args()
    args["bundle"] = str(Path(settings.bundle).resolve()) if settings.address is None else settings.bundle
    if settings.api_key_file:
        args["api_key_file"] = str(Path(settings.api_key_file).resolve())
    return {
        "proxy_location": "EveryNode" if settings.proxy_on_every_node else "HeadOnly",
        "http_options": {"host": settings.host, "port": settings.port},
        "applications": [{"name": APP_NAME, "route_prefix": "/", "import_path": BUILDER, "args": args}],
    }


def write_serve_config(settings: ServiceSettings, path: str | Path) -> Path:
    """Write `settings` as a Serve config YAML at `path`, checked against Serve's schema first."""
    from ray.serve.schema import ServeDeploySchema

    config = serve_config(settings)
    ServeDeploySchema.model_validate(config)
    exports = " ".join(f"{name}={value}" for name, value in SERVE_ENVIRONMENT.items())
    header = (
        f"# Ray Serve config of `haris serve` (docs/operations.md). Start: `serve run {Path(path).name}`.\n"
        f"# Serve's request path as `haris serve` sets it, in the environment of `ray start` / `serve run`:\n"
        f"#   export {exports}\n"
        "# API keys: `api_key_file` below and/or HARIS_API_KEYS where the application is built.\n"
    )
    path = Path(path)
    write_atomically(path, (header + yaml.safe_dump(config, sort_keys=False)).encode("utf-8"))
    return path
