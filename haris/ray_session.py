"""Ray for `haris serve` and `haris label`: started on this machine, or joined at a cluster's address.

Ray puts its driver's working folder first on every worker's import path. From a source checkout the
workers (Serve replicas, labelling actors) would then import the checkout's bare `haris/` folder,
without the compiled kernels, instead of this process's package; so Ray is started from the folder
this process imported haris from (haris/install_location.py).
"""

from __future__ import annotations

from typing import Any

from haris.install_location import haris_root, working_folder


def start_ray(address: str | None, ray_options: dict[str, Any] | None = None) -> None:
    """ray.init: attached to the cluster at `address`, or a Ray started here (`ray_options` its
    resources, no dashboard); from haris_root() either way."""
    import ray

    options = {} if address else {"include_dashboard": False, **(ray_options or {})}
    with working_folder(haris_root()):
        ray.init(address=address, **options)
