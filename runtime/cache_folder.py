"""Where backends keep what they compile for this machine, so that the next start skips it.

OpenVINO's compiled models and TensorRT-RTX's runtime kernels are per CPU or GPU and per graph:
they belong to the user who runs the bundle, not in the bundle (which may be read-only, or shared
by machines of other kinds). `$HARIS_CACHE_DIR` names the folder; by default it is
`$XDG_CACHE_HOME/haris`, else `~/.cache/haris`. Each backend has its own subfolder.
"""

from __future__ import annotations

import os
from pathlib import Path


def cache_folder(backend: str) -> Path:
    """The folder `backend` caches into (created by whoever writes to it first)."""
    root = os.environ.get("HARIS_CACHE_DIR") or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "haris"
    return Path(root) / backend
