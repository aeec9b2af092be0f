"""The COCO document of one shard, from the rows the actors returned for its images.

A shard file is a COCO annotation file of its own (pycocotools' COCO reads it):

- `images`: `{"id", "file_name", "height", "width"}` per readable image; the id is the image's
  position in the run's sorted list plus one, the file name its absolute path;
- `categories`: `{"id", "name", "supercategory": "expression"}`, one per distinct expression the
  shard uses, numbered for the whole run (expression_table.py);
- `annotations`: per image and expression whose mask has pixels, `{"id", "image_id", "category_id",
  "segmentation" (COCO compressed RLE, `counts` a string), "area", "bbox" ([x, y, w, h]), "score",
  "iscrowd": 0}`, encoded as every other answer of HARIS (runtime/answer_json.py); an expression
  that selects no pixel gets no annotation;
- `unreadable`: `{"file_name", "reason"}` per image that could not be read or used (never fatal);
- `info`: what wrote it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from haris.label.expression_table import ExpressionTable

SUPERCATEGORY = "expression"


def shard_document(rows: Sequence[Mapping[str, Any]], images: Sequence[Path], table: ExpressionTable, info: Mapping[str, Any]) -> dict[str, Any]:
    """The COCO document of a shard's rows (one per image: `index`, `height`, `width`, `results`, `error`)."""
    document: dict[str, Any] = {"info": dict(info), "images": [], "annotations": [], "categories": [], "unreadable": []}
    used: set[int] = set()
    for row in sorted(rows, key=lambda row: row["index"]):
        index = int(row["index"])
        if row["error"]:
            document["unreadable"].append({"file_name": str(images[index]), "reason": row["error"]})
            continue
        document["images"].append({"id": index + 1, "file_name": str(images[index]), "height": int(row["height"]), "width": int(row["width"])})
        for annotation in image_annotations(index, row["results"], table):
            document["annotations"].append(annotation)
            used.add(annotation["category_id"])
    document["categories"] = [category for category in categories(table) if category["id"] in used]
    return document


def image_annotations(index: int, results: Sequence[Mapping[str, Any]], table: ExpressionTable) -> list[dict[str, Any]]:
    """The annotations of image `index` from its answer records (runtime/answer_json.py), empty masks left out."""
    first = int(table.first_annotation[index])
    return [
        {
            "id": first + position,
            "image_id": index + 1,
            "category_id": table.categories[result["expression"]],
            "segmentation": result["rle"],
            "area": result["area"],
            "bbox": result["box"],
            "score": result["score"],
            "iscrowd": 0,
        }
        for position, result in enumerate(results)
        if result["area"] > 0
    ]


def categories(table: ExpressionTable) -> list[dict[str, Any]]:
    return [{"id": number, "name": text, "supercategory": SUPERCATEGORY} for text, number in table.categories.items()]


def shard_counts(document: Mapping[str, Any], rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """What the manifest records of a written shard: its counts, and how many of its images each node and each
    engine labelled (actors choose their engine for their node)."""
    return {
        "labelled": len(document["images"]),
        "unreadable": len(document["unreadable"]),
        "annotations": len(document["annotations"]),
        "nodes": _tally(row["node"] for row in rows),
        "engines": _tally(row["engine"] for row in rows),
    }


def _tally(values: Iterable[Any]) -> dict[str, int]:
    return dict(sorted(Counter(map(str, values)).items()))
