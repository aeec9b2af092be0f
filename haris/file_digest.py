"""sha256 of files: how checkpoints, bundles and engines prove they are the files that were written."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

# (path, inode, size, mtime, ctime) -> sha256 of the files hashed by `remembered_file_sha256`.
_DIGESTS: dict[tuple[str, int, int, int, int], str] = {}


def file_sha256(path: str | Path, chunk_bytes: int = 1 << 24) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(chunk_bytes):
            digest.update(chunk)
    return digest.hexdigest()


def remembered_file_sha256(path: str | Path) -> str:
    """file_sha256, hashed once per process while the file stays the same (same inode, size and times).

    ctime is in the key because mtime can be set back after the content changed (cp -p, touch -r,
    tar) and ctime cannot; a replacement renamed into place has another inode.
    """
    stat = os.stat(path)
    key = (os.path.abspath(path), stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns)
    if key not in _DIGESTS:
        _DIGESTS[key] = file_sha256(path)
    return _DIGESTS[key]
