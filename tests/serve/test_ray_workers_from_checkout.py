"""Ray workers started from a source checkout import the haris of the process that starts Ray (the
installed package, with its compiled kernels), not the checkout's bare `haris/` folder: Ray puts its
driver's working folder first on every worker's path, so `start_ray` (haris/ray_session.py, for `haris
serve` and `haris label`) starts it from haris_root().

The driver is a script of its own, run with the checkout as its working folder as `haris serve` would
be, in a fresh process: the serve group's other tests keep a Ray connected in this one. About 15 s;
in the `serve` group, where Ray starts without the parallel fast suite beside it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import haris.cpp_ops
from haris.install_location import haris_root

pytest.importorskip("ray")

CHECKOUT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.serve

DRIVER = """
import json, os, sys
import ray
from haris.ray_session import start_ray

def where():  # defined in __main__: pickled by value, imported nowhere
    import haris.cpp_ops
    return haris.cpp_ops.__file__, haris.cpp_ops.BACKEND

start_ray(None, {"num_cpus": 1, "log_to_driver": False})
try:
    found, backend = ray.get(ray.remote(where).remote(), timeout=120)
finally:
    ray.shutdown()
print(json.dumps({"found": found, "backend": backend, "cwd": os.getcwd()}))
"""


def test_a_ray_worker_started_in_the_checkout_imports_this_processs_haris(tmp_path):
    assert (CHECKOUT / "haris" / "__init__.py").is_file()  # what a worker would import from here
    (tmp_path / "driver.py").write_text(DRIVER, encoding="utf-8")  # its folder, not the checkout, heads its own path
    done = subprocess.run([sys.executable, str(tmp_path / "driver.py")], cwd=CHECKOUT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    assert Path(answer["found"]).resolve() == Path(haris.cpp_ops.__file__).resolve()
    assert answer["backend"] == haris.cpp_ops.BACKEND  # "cpp" wherever the install has its kernels
    assert Path(answer["cwd"]) == CHECKOUT  # the driver's working folder is left as it was
    assert Path(answer["found"]).resolve().is_relative_to(haris_root())
