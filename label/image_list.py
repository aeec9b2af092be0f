"""The images of a labelling run, in the one order every run of it uses: sorted absolute paths.

IMAGES is a folder (its images, subfolders included), a glob pattern, one image, or a list of paths:
a text file (one path a line; blank lines and lines starting with # skipped) or a Parquet file (a
`path` or `image` column). A relative path in a list is relative to the list's folder, so a list
travels with its images. Paths are absolute because the actors that read them run elsewhere (other
processes, other nodes); on a cluster they must name the same file on every node (shared storage).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from haris.errors import HarisError
from haris.runtime.predict_run import find_images

LIST_SUFFIXES = (".txt", ".lst", ".parquet")
PATH_COLUMNS = ("path", "image")


def list_images(source: str) -> list[Path]:
    """Every image of `source`, sorted by path, each once; HarisError when there is none."""
    path = Path(source)
    if path.is_file() and path.suffix.lower() in LIST_SUFFIXES:
        found = read_path_list(path)
    else:
        found = find_images([source], recursive=True)
    images = sorted(set(absolute_paths(found, Path.cwd())), key=str)
    if not images:
        raise HarisError(f"{source}: no images there (a folder's images, a glob, or a .txt / .parquet list of paths)")
    return images


def read_path_list(path: Path) -> list[Path]:
    """The paths of a text or Parquet list, relative ones taken from the list's folder."""
    if path.suffix.lower() == ".parquet":
        names = read_parquet_column(path, PATH_COLUMNS)
    else:
        lines = (line.strip() for line in path.read_text(encoding="utf-8").splitlines())
        names = [line for line in lines if line and not line.startswith("#")]
    return absolute_paths(names, path.parent)


def absolute_paths(names: Iterable[str | Path], base: Path) -> list[Path]:
    """Each name as a normalized absolute path, relative ones joined to `base` (symbolic links kept as named)."""
    return [Path(os.path.normpath(Path(base, name).absolute())) for name in names]


def read_parquet_column(path: Path, columns: tuple[str, ...]) -> list:
    """The first of `columns` that the Parquet file has, as a Python list."""
    import pyarrow.parquet as parquet

    schema = parquet.read_schema(path)
    name = next((column for column in columns if column in schema.names), None)
    if name is None:
        raise HarisError(f"{path} has no {' or '.join(repr(column) for column in columns)} column (it has {', '.join(schema.names)})")
    return parquet.read_table(path, columns=[name]).column(name).to_pylist()
