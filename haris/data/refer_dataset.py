"""RefCOCO, RefCOCO+ and G-Ref in the refer format (and the synthetic default, written in it).

An annotation folder holds `refs(<split_by>).p` (the refs: split, annotation id, sentences) and
`instances.json` (COCO images and annotations). Training takes one item per ref (`records`);
evaluation scores every sentence (`expressions`).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from haris.data.bad_data_policy import BadDataPolicy
from haris.data.image_reader import read_rgb_image
from haris.data.mask_rasterizer import rasterize_segmentation, segmentation_is_empty, segmentation_problem
from haris.data.refer_files import read_instances, read_refs, ref_field
from haris.data.refer_record import ReferRecord
from haris.data.safe_unpickler import utf8_repaired
from haris.errors import DataError

log = logging.getLogger(__name__)

__all__ = ["ReferDataset", "ReferRecord"]


class ReferDataset:
    """The refs of one split, checked at construction; images and masks are read on demand."""

    def __init__(
        self,
        annotation_dir: str | Path,
        split: str,
        split_by: str = "unc",
        image_dir: str | Path | None = None,
        skip_bad: bool = False,
    ) -> None:
        self.annotation_dir = Path(annotation_dir)
        self.image_dir = Path(image_dir) if image_dir is not None else self.annotation_dir / "images"
        self.split, self.split_by = split, split_by
        self.refs_path = self.annotation_dir / f"refs({split_by}).p"
        self.instances_path = self.annotation_dir / "instances.json"
        refs = self._refs_of_split(read_refs(self.refs_path))
        images, annotations = read_instances(self.instances_path)
        policy = BadDataPolicy(skip_bad)
        self._image_exists: dict[Path, bool] = {}
        built = (self._build_record(ref, images, annotations, policy) for ref in refs)
        self.records: list[ReferRecord] = [record for record in built if record is not None]
        self.expressions: list[tuple[int, int]] = [
            (index, sentence) for index, record in enumerate(self.records) for sentence in range(len(record.sentences))
        ]
        self.skipped: dict[str, int] = policy.skipped
        log.info(self._summary(policy))

    def __len__(self) -> int:
        return len(self.records)

    def load_image(self, record: ReferRecord) -> np.ndarray:
        """The record's image as uint8 (H, W, 3) RGB; DataError naming file and ref if it is unreadable."""
        return read_rgb_image(self.image_dir / record.file_name, record.height, record.width, f"ref {record.ref_id}", str(self.instances_path))

    def load_mask(self, record: ReferRecord) -> np.ndarray:
        """The referred object's mask as bool (H, W) at the image's original size."""
        return rasterize_segmentation(record.segmentation, record.height, record.width)

    def _refs_of_split(self, refs: list[dict]) -> list[dict]:
        splits = sorted({str(ref.get("split")) for ref in refs})
        if self.split not in splits:
            raise DataError(f"{self.refs_path} has no split '{self.split}'; its splits are: {', '.join(splits)}")
        return [ref for ref in refs if ref.get("split") == self.split]

    def _build_record(self, ref: dict, images: dict, annotations: dict, policy: BadDataPolicy) -> ReferRecord | None:
        ref_id = ref_field(ref, "ref_id", self.refs_path)
        ann_id = ref_field(ref, "ann_id", self.refs_path)
        image_id = ref_field(ref, "image_id", self.refs_path)
        annotation, image = annotations.get(ann_id), images.get(image_id)
        if annotation is None or image is None:
            missing = f"annotation {ann_id}" if annotation is None else f"image {image_id}"
            message = f"{self.instances_path} has no {missing}, which ref {ref_id} names"
            policy.reject("unknown annotation or image", message)
            return None
        if annotation.get("image_id") != image_id:
            policy.reject(
                "annotation of another image",
                f"{self.instances_path}: annotation {ann_id} of ref {ref_id} belongs to image "
                f"{annotation.get('image_id')}, not to the ref's image {image_id}",
            )
            return None
        if not self._check_image(ref_id, image, policy):
            return None
        if not self._check_segmentation(ref_id, annotation, image, policy):
            return None
        sentences = self._sentences(ref, policy)
        if not sentences:
            policy.reject("no sentences", f"{self.refs_path}: ref {ref_id} has no sentences")
            return None
        return ReferRecord(
            ref_id=int(ref_id),
            ann_id=int(ann_id),
            image_id=int(image_id),
            file_name=str(image["file_name"]),
            height=int(image["height"]),
            width=int(image["width"]),
            sentences=sentences,
            segmentation=annotation["segmentation"],
        )

    def _check_image(self, ref_id: int, image: dict, policy: BadDataPolicy) -> bool:
        if not all(key in image for key in ("file_name", "height", "width")):
            raise DataError(f"{self.instances_path}: image {image['id']} needs 'file_name', 'height' and 'width'")
        path = self.image_dir / str(image["file_name"])
        if path not in self._image_exists:  # many refs share an image: one stat each
            self._image_exists[path] = path.is_file()
        if not self._image_exists[path]:
            policy.reject("missing image", f"{path}: the image of ref {ref_id} does not exist")
        return self._image_exists[path]

    def _check_segmentation(self, ref_id: int, annotation: dict, image: dict, policy: BadDataPolicy) -> bool:
        segmentation = annotation.get("segmentation")
        where = f"{self.instances_path}: annotation {annotation['id']} of ref {ref_id}"
        problem = segmentation_problem(segmentation, int(image["height"]), int(image["width"]))
        if problem is not None:
            policy.reject("malformed segmentation", f"{where} has a malformed segmentation: {problem}")
            return False
        if segmentation_is_empty(segmentation):
            policy.reject("empty segmentation", f"{where} has an empty segmentation")
            return False
        return True

    def _sentences(self, ref: dict, policy: BadDataPolicy) -> tuple[str, ...]:
        """The cleaned sentences ('sent'); one without words is an error, or dropped when skipping."""
        kept = []
        for sentence in ref_field(ref, "sentences", self.refs_path) or []:
            text = sentence.get("sent") if isinstance(sentence, dict) else None
            if isinstance(text, str) and any(character.isalnum() for character in text):
                kept.append(" ".join(utf8_repaired(text).split()))
            else:
                sent_id = sentence.get("sent_id", "?") if isinstance(sentence, dict) else "?"
                message = f"{self.refs_path}: ref {ref['ref_id']} has sentence {sent_id} with no words"
                policy.reject("blank sentence", message)
        return tuple(kept)

    def _summary(self, policy: BadDataPolicy) -> str:
        name = self.annotation_dir.resolve().name
        line = f"{name} {self.split_by} {self.split}: {len(self.records)} refs, {len(self.expressions)} sentences (images in {self.image_dir})"
        skipped = policy.summary()
        return f"{line}; skipped: {skipped}" if skipped else line
