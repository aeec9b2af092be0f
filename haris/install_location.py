"""Where this process found `haris`, so that the processes it starts import the same package.

The installed package maps the checkout's top-level folders (runtime/, export/, serve/, ...) into
`haris.*` and carries the compiled cpp_ops kernels. A source checkout holds a bare `haris/` folder
beside them, without the kernels; a process whose import path starts at the checkout (Python puts
the working folder first for `python -m` and `-c`; Ray puts its driver's working folder first on
every worker's path) imports that folder instead of the install. So the processes HARIS starts are
pointed at `haris_root()`: bench workers by `-P` and PYTHONPATH (benchmarks/worker_process.py), Ray
workers by starting Ray from that folder (`working_folder`, haris/ray_session.py).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import haris


def haris_root() -> Path:
    """The folder this process imported the `haris` package from: site-packages for an install, the
    checkout when the checkout itself is being run."""
    return Path(haris.__file__).resolve().parent.parent


@contextmanager
def working_folder(folder: str | Path) -> Iterator[None]:
    """Run the block with `folder` as the working folder, then return to the one before (even on error)."""
    previous = os.getcwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(previous)
