"""The referring expressions of a labelling run: one list for every image, or a list per image.

One list: a text file (one expression a line, blank lines skipped) or a JSON list of strings. Per
image: JSON Lines (`{"image": PATH, "expressions": [...]}` a line), a JSON object (PATH -> list) or a
Parquet file (an `image` or `path` column and an `expressions` list column). A relative PATH is
relative to the expressions file's folder; every image needs an entry, and entries naming no image
of the run are ignored (logged).

Each distinct expression is one COCO category, numbered from 1 in the order the sorted images first
use them, so every shard and the merged file agree on the numbers.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from haris.errors import ExpressionError, HarisError
from haris.label.image_list import absolute_paths, read_parquet_column
from haris.runtime.expression_check import check_expressions

logger = logging.getLogger(__name__)


class ExpressionTable:
    def __init__(self, per_image: Sequence[list[str]]) -> None:
        """`per_image[i]`: the expressions of image i (one list object may serve many images)."""
        self.per_image = list(per_image)
        self.categories: dict[str, int] = {}
        for expressions in _distinct_lists(self.per_image):
            for text in expressions:
                self.categories.setdefault(text, len(self.categories) + 1)
        counts = np.fromiter((len(expressions) for expressions in self.per_image), dtype=np.int64, count=len(self.per_image))
        # Image i's k-th expression is annotation first_annotation[i] + k: ids fixed before any image
        # is labelled, so a shard written by any run numbers its annotations as every other run would.
        self.first_annotation = np.concatenate([[1], 1 + np.cumsum(counts)[:-1]]) if counts.size else counts

    @classmethod
    def read(cls, path: str | Path, images: Sequence[Path]) -> ExpressionTable:
        path = Path(path)
        if not path.is_file():
            raise HarisError(f"{path}: no such expressions file (.txt or .json list, or .jsonl / .parquet / .json object per image)")
        suffix = path.suffix.lower()
        if suffix == ".txt":
            lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
            return cls.shared([line for line in lines if line], len(images), path)
        if suffix == ".json":
            data = _load_json(path)
            if isinstance(data, dict):
                return cls.matched(data, images, path)
            return cls.shared(data, len(images), path)
        if suffix == ".jsonl":
            return cls.matched(_read_jsonl(path), images, path)
        if suffix == ".parquet":
            keys = read_parquet_column(path, ("image", "path"))
            return cls.matched(dict(zip(keys, read_parquet_column(path, ("expressions",)))), images, path)
        raise HarisError(f"{path}: expressions come as .txt, .json, .jsonl or .parquet, not {suffix or 'a file without a suffix'}")

    @classmethod
    def shared(cls, expressions: object, count: int, source: Path) -> ExpressionTable:
        """One list for `count` images."""
        return cls([_checked(expressions, source)] * count)

    @classmethod
    def matched(cls, entries: dict[str, object], images: Sequence[Path], source: Path) -> ExpressionTable:
        """A list per image from `entries` (path -> expressions), paths relative to `source`'s folder."""
        by_path = dict(zip(map(str, absolute_paths(entries, source.parent)), entries.values()))
        missing = [image for image in images if str(image) not in by_path]
        if missing:
            raise HarisError(f"{source}: {len(missing)} of {len(images)} images have no expressions, e.g. {missing[0]} (every image needs an entry)")
        unused = len(by_path) - len(images)
        if unused > 0:
            logger.warning("%s: %d entries name no image of this run; ignored", source, unused)
        return cls([_checked(by_path[str(image)], source, image) for image in images])


def _distinct_lists(per_image: Sequence[list[str]]) -> list[list[str]]:
    """Each list object once, in order (a shared list is one object for all images)."""
    return list({id(expressions): expressions for expressions in per_image}.values())


def _checked(expressions: object, source: Path, image: Path | None = None) -> list[str]:
    try:
        return check_expressions(expressions)
    except ExpressionError as error:
        raise HarisError(f"{source}{f' ({image})' if image else ''}: {error}") from None


def _load_json(path: Path) -> object:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise HarisError(f"{path}: not valid JSON ({error})") from None


def _read_jsonl(path: Path) -> dict[str, object]:
    entries: dict[str, object] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            entries[record["image"] if "image" in record else record["path"]] = record["expressions"]
        except (json.JSONDecodeError, KeyError, TypeError) as error:
            raise HarisError(f'{path}, line {number}: expected {{"image": PATH, "expressions": [...]}} ({type(error).__name__}: {error})') from None
    return entries
