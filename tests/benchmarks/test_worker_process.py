"""Benchmark workers import the haris of the process that starts them, even from a source checkout."""

from __future__ import annotations

import subprocess
from pathlib import Path

import haris.cpp_ops
from haris.benchmarks.worker_process import python_command, python_environment

CHECKOUT = Path(__file__).resolve().parents[2]


def test_a_worker_started_in_the_checkout_imports_this_processs_haris():
    # From the checkout, a plain `python -m` would find the checkout's haris/ first (its cpp_ops
    # without the compiled kernels) whenever this process runs the installed package.
    command = python_command("-c", "import haris.cpp_ops; print(haris.cpp_ops.__file__)")
    found = subprocess.run(command, env=python_environment(), cwd=CHECKOUT, capture_output=True, text=True, check=True).stdout.strip()
    assert Path(found).resolve() == Path(haris.cpp_ops.__file__).resolve()


def test_the_callers_environment_and_pythonpath_are_kept():
    environment = python_environment({"GLIBC_TUNABLES": "x", "PYTHONPATH": "/elsewhere"})
    assert environment["GLIBC_TUNABLES"] == "x" and environment["PYTHONPATH"].endswith(":/elsewhere")
