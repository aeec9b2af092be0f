"""COCO segmentations (polygons, uncompressed or compressed RLE) to boolean masks, with pycocotools.

pycocotools is the reference: the refer toolkit and every published RefCOCO number decode masks
with it, so using anything else would shift boundary pixels and the IoU with them.
"""

from __future__ import annotations

import warnings

import numpy as np
from pycocotools import mask as coco_mask

# pycocotools' Cython decode trips a numpy 2 DeprecationWarning on every call (its own code, not
# ours); training would repeat it for every sample, so this one message is silenced.
warnings.filterwarnings("ignore", message="__array__ implementation doesn't accept a copy keyword",
                        category=DeprecationWarning, module="pycocotools")
_MIN_POLYGON_COORDS = 6  # three points; fewer have no area, and pycocotools reads four as a box


def rasterize_segmentation(segmentation: object, height: int, width: int) -> np.ndarray:
    """The (height, width) bool mask of a segmentation; a multi-part object is the union of its parts."""
    rles = _to_rles(segmentation, height, width)
    if not rles:
        return np.zeros((height, width), dtype=bool)
    return coco_mask.decode(rles).any(axis=2)  # decode gives (H, W, parts); any() is the union, > 0


def segmentation_is_empty(segmentation: object) -> bool:
    """True when the segmentation has no polygon with three points or its RLE covers no pixel.

    Cheap (no decoding of polygons), so the loader can check every annotation at construction.
    """
    if isinstance(segmentation, list):
        return not _usable_polygons(segmentation)
    if isinstance(segmentation, dict):
        counts = segmentation.get("counts")
        if isinstance(counts, list):
            return sum(counts[1::2]) == 0  # runs alternate background, foreground
        if isinstance(counts, (str, bytes)) and _valid_size(segmentation.get("size")):
            return int(coco_mask.area(_compressed(segmentation))) == 0
    return True


def segmentation_problem(segmentation: object, height: int, width: int) -> str | None:
    """Why the segmentation cannot be rasterized at (height, width), or None when it can."""
    if isinstance(segmentation, list):
        if not all(isinstance(polygon, list) and len(polygon) % 2 == 0 for polygon in segmentation):
            return "a polygon list must hold lists of x, y coordinate pairs"
        return None
    if isinstance(segmentation, dict):
        if not isinstance(segmentation.get("counts"), (list, str, bytes)):
            return "an RLE needs 'counts' as a list or a string"
        if not _valid_size(segmentation.get("size")):
            return "an RLE needs 'size' as [height, width]"
        if list(segmentation["size"]) != [height, width]:
            return f"its RLE size {list(segmentation['size'])} differs from the image's [{height}, {width}]"
        return None
    return f"a segmentation must be polygons or an RLE dict, not {type(segmentation).__name__}"


def _to_rles(segmentation: object, height: int, width: int) -> list[dict]:
    if isinstance(segmentation, list):
        polygons = _usable_polygons(segmentation)
        return coco_mask.frPyObjects(polygons, height, width) if polygons else []
    if isinstance(segmentation["counts"], list):
        return [coco_mask.frPyObjects(segmentation, height, width)]
    return [_compressed(segmentation)]


def _usable_polygons(polygons: list) -> list[list[float]]:
    return [[float(v) for v in polygon] for polygon in polygons if len(polygon) >= _MIN_POLYGON_COORDS]


def _compressed(rle: dict) -> dict:
    counts = rle["counts"]
    counts = counts.encode("ascii") if isinstance(counts, str) else counts
    return {"size": [int(v) for v in rle["size"]], "counts": counts}


def _valid_size(size: object) -> bool:
    return isinstance(size, (list, tuple)) and len(size) == 2 and all(isinstance(v, int) and v > 0 for v in size)
