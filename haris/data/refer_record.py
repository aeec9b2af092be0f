"""One referred object of a refer-format dataset, with everything needed to load its image and mask."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ReferRecord:
    """A ref: one annotated object and the sentences that refer to it.

    `file_name`, `height` and `width` come from instances.json's image entry, never from the ref's
    own `file_name` (in RefCOCO that names a crop that does not exist, e.g. COCO_train2014_..._16.jpg).
    """

    ref_id: int
    ann_id: int
    image_id: int
    file_name: str
    height: int
    width: int
    sentences: tuple[str, ...]
    segmentation: object  # polygons, RLE dicts (a list of either) or one RLE dict, as in instances.json
