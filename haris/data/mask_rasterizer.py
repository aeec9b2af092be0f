"""COCO and refer segmentations to boolean masks, with pycocotools.

pycocotools is the reference: the refer toolkit and every published RefCOCO number decode masks
with it, so using anything else would shift boundary pixels and the IoU with them.

A segmentation is read in every layout the refer API (`REFER.getMask`) or COCO's API reads:
- a list of polygons (RefCOCO, RefCOCO+, G-Ref), each a flat list of x, y coordinates;
- a list of RLE dicts (RefCLEF), their counts compressed (a string) or not (a list of run lengths);
- one RLE dict (COCO's own layout for crowd regions).
A multi-part segmentation is the union of its parts, as getMask's sum over parts thresholded > 0.
"""

from __future__ import annotations

import warnings

import numpy as np
from pycocotools import mask as coco_mask

# pycocotools' Cython decode trips a numpy 2 DeprecationWarning on every call (its own code, not
# ours); training would repeat it for every sample, so this one message is silenced.
warnings.filterwarnings("ignore", message="__array__ implementation doesn't accept a copy keyword", category=DeprecationWarning, module="pycocotools")
_MIN_POLYGON_COORDS = 6  # three points; fewer have no area, and pycocotools reads four as a box


def rasterize_segmentation(segmentation: object, height: int, width: int) -> np.ndarray:
    """The (height, width) bool mask of a segmentation; a multi-part object is the union of its parts."""
    rles = _to_rles(segmentation, height, width)
    if not rles:
        return np.zeros((height, width), dtype=bool)
    return coco_mask.decode(rles).any(axis=2)  # decode gives (H, W, parts); any() is the union, > 0


def segmentation_is_empty(segmentation: object) -> bool:
    """True when no part has area: no polygon with three points, no RLE that covers a pixel.

    Cheap (no decoding of polygons), so the loader can check every annotation at construction.
    """
    if _is_rle_list(segmentation):
        return all(_rle_is_empty(rle) for rle in segmentation)
    if isinstance(segmentation, list):
        return not _usable_polygons(segmentation)
    return _rle_is_empty(segmentation) if isinstance(segmentation, dict) else True


def segmentation_problem(segmentation: object, height: int, width: int) -> str | None:
    """Why the segmentation cannot be rasterized at (height, width), or None when it can."""
    if isinstance(segmentation, dict):
        return _rle_problem(segmentation, height, width)
    if not isinstance(segmentation, list):
        return f"a segmentation must be a list of polygons or of RLEs, or an RLE dict, not {type(segmentation).__name__}"
    if _is_rle_list(segmentation):
        return next((problem for rle in segmentation if (problem := _rle_problem(rle, height, width))), None)
    if not all(isinstance(polygon, list) and len(polygon) % 2 == 0 for polygon in segmentation):
        return "a segmentation list must hold polygons (lists of x, y coordinate pairs) or RLE dicts, not a mix"
    return None


def _to_rles(segmentation: object, height: int, width: int) -> list[dict]:
    if isinstance(segmentation, dict):
        return [_compressed(segmentation, height, width)]
    if _is_rle_list(segmentation):
        return [_compressed(rle, height, width) for rle in segmentation]
    polygons = _usable_polygons(segmentation)
    return coco_mask.frPyObjects(polygons, height, width) if polygons else []


def _is_rle_list(segmentation: object) -> bool:
    return isinstance(segmentation, list) and bool(segmentation) and all(isinstance(part, dict) for part in segmentation)


def _usable_polygons(polygons: list) -> list[list[float]]:
    return [[float(v) for v in polygon] for polygon in polygons if len(polygon) >= _MIN_POLYGON_COORDS]


def _rle_is_empty(rle: dict) -> bool:
    counts = rle.get("counts")
    if isinstance(counts, list):
        return sum(counts[1::2]) == 0  # runs alternate background, foreground
    if isinstance(counts, (str, bytes)) and _valid_size(rle.get("size")):
        return int(coco_mask.area(_compressed(rle, *rle["size"]))) == 0
    return True


def _rle_problem(rle: dict, height: int, width: int) -> str | None:
    if not isinstance(rle.get("counts"), (list, str, bytes)):
        return "an RLE needs 'counts' as a list or a string"
    if not _valid_size(rle.get("size")):
        return "an RLE needs 'size' as [height, width]"
    if list(rle["size"]) != [height, width]:
        return f"its RLE size {list(rle['size'])} differs from the image's [{height}, {width}]"
    return None


def _compressed(rle: dict, height: int, width: int) -> dict:
    """The RLE with compressed (bytes) counts, the form pycocotools' decode and area take."""
    counts = rle["counts"]
    if isinstance(counts, list):
        return coco_mask.frPyObjects(rle, height, width)
    counts = counts.encode("ascii") if isinstance(counts, str) else counts
    return {"size": [int(v) for v in rle["size"]], "counts": counts}


def _valid_size(size: object) -> bool:
    return isinstance(size, (list, tuple)) and len(size) == 2 and all(isinstance(v, int) and v > 0 for v in size)
