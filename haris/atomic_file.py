"""Writing a file so that readers see the old one or the new one, never half of either."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO


@contextlib.contextmanager
def atomic_output(path: Path) -> Iterator[BinaryIO]:
    """A binary stream to a temporary file in the same folder, renamed to `path` when the block ends
    without an error (and removed when it fails): a file too large to hold in memory, written atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            yield stream
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_atomically(path: Path, data: bytes) -> None:
    """Write to a temporary file in the same folder, then rename: readers never see half a file."""
    with atomic_output(path) as stream:
        stream.write(data)


def write_json_atomically(path: Path, data: dict[str, Any]) -> None:
    write_atomically(path, (json.dumps(data, indent=2) + "\n").encode("utf-8"))
