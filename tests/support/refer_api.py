"""The refer API's mask reading (`REFER.getMask` of lichengunc/refer), re-implemented by us as the
oracle of the interop tests: CRIS, LAVT and most RIS codebases copy that function, so a dataset it
cannot read cannot be fed to their loaders.

Its semantics: the segmentation is indexed as a list. If its first part is a list, every part is a
polygon and pycocotools rasterizes them; otherwise the parts are RLE dicts handed to
pycocotools' decode. The parts' masks are summed (a pixel inside two parts counts 2) and the sum is
read as the mask, so the object is their union (> 0). A bare RLE dict fails at `segmentation[0]`
with KeyError: 0, as the original does.

Stock pycocotools' decode takes compressed counts only (a list of run lengths raises TypeError),
so an uncompressed part is compressed first with frPyObjects, as COCO's own annToRLE does: the
union of parts is what getMask means for such a list too.
"""

from __future__ import annotations

import numpy as np
from pycocotools import mask as coco_mask


def refer_get_mask(segmentation: object, height: int, width: int) -> np.ndarray:
    """The uint8 (height, width) sum of the parts' masks, as getMask returns it."""
    if type(segmentation[0]) is list:  # noqa: E721 - getMask's own test; a dict raises KeyError: 0 here
        rles = coco_mask.frPyObjects(segmentation, height, width)
    else:
        rles = [coco_mask.frPyObjects(part, height, width) if isinstance(part["counts"], list) else _as_bytes(part) for part in segmentation]
    return np.sum(coco_mask.decode(rles), axis=2).astype(np.uint8)


def _as_bytes(rle: dict) -> dict:
    counts = rle["counts"]
    return {"size": rle["size"], "counts": counts.encode("ascii") if isinstance(counts, str) else counts}
