"""Ray workers started from a source checkout import the haris of the process that starts Ray (the
installed package, with its compiled kernels), not the checkout's bare `haris/` folder: Ray puts its
driver's working folder first on every worker's path, so `start_ray` starts it from haris_root().

A plain Ray task, about 15 s alone; in the `serve` group all the same, where Ray starts without the
parallel fast suite beside it (under that load, on 2 cores, Ray's fixed 30 s wait for its node ran out).
"""

from __future__ import annotations

from pathlib import Path

import pytest

import haris.cpp_ops
from haris.install_location import haris_root

ray = pytest.importorskip("ray")

CHECKOUT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.serve


def test_a_ray_worker_started_in_the_checkout_imports_this_processs_haris(monkeypatch):
    from haris.serve.service_runner import SERVE_ENVIRONMENT, start_ray

    for name, value in SERVE_ENVIRONMENT.items():  # start_ray sets them; monkeypatch puts them back
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(CHECKOUT)
    assert (CHECKOUT / "haris" / "__init__.py").is_file()  # what a worker would import from here

    def where() -> tuple[str, str]:  # a local function: pickled by value, imported nowhere
        import haris.cpp_ops

        return haris.cpp_ops.__file__, haris.cpp_ops.BACKEND

    start_ray(None, {"num_cpus": 1, "log_to_driver": False})
    try:
        found, backend = ray.get(ray.remote(where).remote(), timeout=120)
    finally:
        ray.shutdown()
    assert Path(found).resolve() == Path(haris.cpp_ops.__file__).resolve()
    assert backend == haris.cpp_ops.BACKEND  # "cpp" wherever the install has its kernels
    assert Path.cwd() == CHECKOUT  # this process's working folder is left as it was
    assert Path(found).resolve().is_relative_to(haris_root())
