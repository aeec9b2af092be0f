"""Benchmark workers in fresh interpreters that import the same haris as the process starting them.

`python -m` puts the working folder first on the new interpreter's path, so a benchmark started from
a source checkout (as scripts/demo.sh does) ran its workers on the checkout's sources: without the
compiled cpp_ops kernels, timing the numpy reference instead. `-P` leaves the working folder out,
and PYTHONPATH names the folder this process found haris in.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping

from haris.install_location import haris_root


def python_command(*arguments: str) -> list[str]:
    """This interpreter, without the working folder on its path, with `arguments` (e.g. "-m", module)."""
    return [sys.executable, "-P", *arguments]


def python_environment(environment: Mapping[str, str] | None = None) -> dict[str, str]:
    """`environment` (default: this process's) with this process's haris first on PYTHONPATH."""
    merged = dict(os.environ if environment is None else environment)
    merged["PYTHONPATH"] = os.pathsep.join(filter(None, [str(haris_root()), merged.get("PYTHONPATH")]))
    return merged
