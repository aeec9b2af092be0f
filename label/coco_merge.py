"""`annotations.json`: every shard of a finished run in one COCO file, written without holding the run in memory.

Shards are read one at a time, three times (their images, annotations and unreadable files), and their
entries streamed into a temporary file that is renamed into place at the end (haris/atomic_file.py), so
the merge of a million images needs the memory of one shard, and a kill during it leaves no half file.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, BinaryIO

from haris.atomic_file import atomic_output

MERGED_FILE = "annotations.json"


def merge_shards(shard_files: Sequence[Path], out: Path, info: Mapping[str, Any], categories: Sequence[Mapping[str, Any]]) -> Path:
    """Write `out`/annotations.json from the shard files, in shard order; return its path."""
    path = out / MERGED_FILE
    with atomic_output(path) as stream:
        stream.write(f'{{"info": {json.dumps(dict(info))},\n"categories": {json.dumps(list(categories))},\n'.encode())
        for key in ("images", "annotations", "unreadable"):
            stream.write(f'"{key}": ['.encode())
            _write_entries(stream, shard_files, key)
            stream.write(b"]\n}" if key == "unreadable" else b"],\n")
    return path


def _write_entries(stream: BinaryIO, shard_files: Sequence[Path], key: str) -> None:
    first = True
    for shard in shard_files:
        for entry in json.loads(shard.read_text(encoding="utf-8"))[key]:
            stream.write(b"\n" if first else b",\n")
            stream.write(json.dumps(entry).encode())
            first = False
