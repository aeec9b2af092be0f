"""Writing a directory so that readers see the old one or the new one, never half of either."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_directory(target: str | Path) -> Iterator[Path]:
    """Yield a fresh sibling folder to fill; on success it replaces `target` by renames.

    If the body raises, the partial folder is removed and `target` is untouched. A crash between
    the two renames leaves the previous version beside the target as `<name>.old-<pid>`.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.with_name(f"{target.name}.tmp-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    try:
        yield staging
        for file in staging.iterdir():
            _fsync(file)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    previous = target.with_name(f"{target.name}.old-{os.getpid()}")
    if target.exists():
        os.replace(target, previous)
    os.replace(staging, target)
    shutil.rmtree(previous, ignore_errors=True)


def _fsync(file: Path) -> None:
    if file.is_file():
        with open(file, "rb") as handle:
            os.fsync(handle.fileno())
