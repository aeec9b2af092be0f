"""Reading the two annotation files of the refer format: `refs(<split_by>).p` and `instances.json`."""

from __future__ import annotations

import json
from pathlib import Path

from haris.data.safe_unpickler import load_pickle_safely
from haris.errors import DataError


def read_refs(path: Path) -> list[dict]:
    """The refs of a `refs(<split_by>).p` file: a list of dicts, byte strings decoded."""
    refs = load_pickle_safely(path)
    if not isinstance(refs, list) or not all(isinstance(ref, dict) for ref in refs):
        raise DataError(f"{path} must hold a list of ref dicts, not {type(refs).__name__}")
    return refs


def read_instances(path: Path) -> tuple[dict[int, dict], dict[int, dict]]:
    """instances.json's images and annotations, each keyed by id."""
    try:
        with open(path, encoding="utf-8") as handle:
            instances = json.load(handle)
    except FileNotFoundError:
        raise DataError(f"{path} does not exist") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise DataError(f"{path} is not readable JSON: {error}") from None
    if not isinstance(instances, dict):
        raise DataError(f"{path} must hold a COCO object with 'images' and 'annotations'")
    return _by_id(instances, "images", path), _by_id(instances, "annotations", path)


def ref_field(ref: dict, key: str, path: Path) -> object:
    """ref[key], or a DataError naming the file and the ref when the key is absent."""
    if key not in ref:
        raise DataError(f"{path}: ref {ref.get('ref_id', '(without ref_id)')} has no '{key}'")
    return ref[key]


def _by_id(instances: dict, key: str, path: Path) -> dict[int, dict]:
    entries = instances.get(key)
    if not isinstance(entries, list) or not all(isinstance(entry, dict) and "id" in entry for entry in entries):
        raise DataError(f"{path}: '{key}' must be a list of objects that each have an 'id'")
    return {entry["id"]: entry for entry in entries}
