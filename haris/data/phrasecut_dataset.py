"""The PhraseCut (VGPhraseCut, Wu et al., CVPR 2020) split used for zero-shot evaluation.

Files, as the official PhraseCutDataset repository lays them out under `data/VGPhraseCut_v0/`:
`refer_<split>.json` (a list of tasks: task_id, image_id, phrase, Polygons, instance_boxes, ...),
`image_data_split.json` (a list of images: image_id, width, height, split, ...) and the Visual
Genome images `images/<image_id>.jpg`.

The ground truth is drawn as the official evaluator draws it (utils/evaluator.py, iou.py and
data_transfer.py::polygons_to_mask): the per-instance polygon lists of a task are flattened into one
list, polygons with fewer than 2 points are dropped, every point is truncated with int(), and each
polygon is drawn with PIL ImageDraw.polygon(fill=1, outline=1) on a width x height canvas; the mask
is the union of all polygons.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from haris.data.bad_data_policy import BadDataPolicy
from haris.data.image_reader import read_rgb_image
from haris.errors import DataError

log = logging.getLogger(__name__)

IMAGE_INFO_FILE = "image_data_split.json"

Polygon = tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class PhraseCutRecord:
    """One PhraseCut task: a phrase and the region it refers to on one image."""

    ref_id: int  # the task's position in refer_<split>.json
    task_id: str
    image_id: int
    file_name: str
    height: int
    width: int
    sentences: tuple[str, ...]  # the task's one phrase
    polygons: tuple[Polygon, ...]  # all instances' polygons, flattened and truncated to int


class PhraseCutDataset:
    """A PhraseCut split with the same interface as the refer-format loader.

    `expressions` lists (record index, sentence index) pairs; each record has one sentence.
    Bad tasks (missing image, empty phrase, no drawable polygon) raise DataError, or with
    `skip_bad` are left out and counted in `skipped` by reason.
    """

    def __init__(
        self,
        root: str | Path,
        split: str = "test",
        image_dir: str | Path | None = None,
        skip_bad: bool = False,
    ) -> None:
        self.root = Path(root)
        self.split = split
        self.image_dir = Path(image_dir) if image_dir is not None else self.root / "images"
        self.refer_path = self.root / f"refer_{split}.json"
        self._policy = BadDataPolicy(skip_bad)
        self.skipped: dict[str, int] = self._policy.skipped
        self._image_exists: dict[int, bool] = {}
        tasks = _read_json_list(self.refer_path)
        images = _index_images(self.root / IMAGE_INFO_FILE)
        records = (self._record(index, task, images) for index, task in enumerate(tasks))
        self.records: list[PhraseCutRecord] = [record for record in records if record is not None]
        self.expressions: list[tuple[int, int]] = [(index, 0) for index in range(len(self.records))]
        log.info(self._summary())

    def load_image(self, record: PhraseCutRecord) -> np.ndarray:
        """The record's image as uint8 (H, W, 3) RGB."""
        path = self.image_dir / record.file_name
        return read_rgb_image(path, record.height, record.width, f"task {record.task_id!r}", IMAGE_INFO_FILE)

    def load_mask(self, record: PhraseCutRecord) -> np.ndarray:
        """The record's ground truth as bool (H, W), drawn as the official evaluator draws it."""
        canvas = Image.new("L", (record.width, record.height), 0)
        draw = ImageDraw.Draw(canvas)
        # Drawing every polygon with value 1 on one canvas is the evaluator's per-polygon sum > 0.
        for polygon in record.polygons:
            draw.polygon(polygon, fill=1, outline=1)
        return np.asarray(canvas) > 0

    def _record(self, index: int, task: dict, images: dict) -> PhraseCutRecord | None:
        task_id, image_id, phrase, instances = (_field(task, key, index, self.refer_path) for key in ("task_id", "image_id", "phrase", "Polygons"))
        where = f"task {task_id!r} (#{index}) in {self.refer_path}"
        if not isinstance(phrase, str) or not phrase.strip():
            return self._policy.reject("empty phrase", f"{where} has an empty phrase: {phrase!r}")
        try:
            polygons = _drawable_polygons(instances)
        except (TypeError, ValueError) as error:
            return self._policy.reject("bad polygons", f"{where} has malformed Polygons: {error}")
        if not polygons:
            message = f"{where} has no polygon with at least 2 points"
            return self._policy.reject("no polygons", message)
        info = images.get(image_id)
        if info is None:
            message = f"{where}: image {image_id} is not in {IMAGE_INFO_FILE}"
            return self._policy.reject("no image info", message)
        file_name = f"{image_id}.jpg"
        if not self._has_image(image_id, file_name):
            missing = self.image_dir / file_name
            message = f"{where}: image file {missing} does not exist"
            return self._policy.reject("missing image", message)
        return PhraseCutRecord(
            ref_id=index,
            task_id=str(task_id),
            image_id=int(image_id),
            file_name=file_name,
            height=int(info["height"]),
            width=int(info["width"]),
            sentences=(phrase,),
            polygons=polygons,
        )

    def _has_image(self, image_id: int, file_name: str) -> bool:
        # Many tasks share an image; one stat per image keeps loading the split fast.
        if image_id not in self._image_exists:
            self._image_exists[image_id] = (self.image_dir / file_name).is_file()
        return self._image_exists[image_id]

    def _summary(self) -> str:
        images = len({record.image_id for record in self.records})
        line = f"PhraseCut {self.split}: {len(self.records)} expressions on {images} images"
        if self.skipped:
            line += f", skipped {self._policy.summary()}"
        return line


def _drawable_polygons(instances: list) -> tuple[Polygon, ...]:
    """Flatten per-instance polygon lists, dropping polygons the evaluator skips (< 2 points)."""
    polygons = []
    for instance_polygons in instances:
        for polygon in instance_polygons:
            if len(polygon) < 2:
                continue
            # int() truncates towards zero, exactly as polygons_to_mask does; rounding would move
            # edges by a pixel and change the ground truth.
            polygons.append(tuple((int(x), int(y)) for x, y in polygon))
    return tuple(polygons)


def _field(task: dict, key: str, index: int, path: Path) -> object:
    if not isinstance(task, dict) or key not in task:
        raise DataError(f"task #{index} in {path} has no {key!r}: not a PhraseCut refer file")
    return task[key]


def _index_images(path: Path) -> dict[int, dict]:
    images = {}
    for index, info in enumerate(_read_json_list(path)):
        if not isinstance(info, dict) or not {"image_id", "width", "height"} <= info.keys():
            raise DataError(f"image #{index} in {path} lacks image_id, width or height")
        images[info["image_id"]] = info
    return images


def _read_json_list(path: Path) -> list:
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except FileNotFoundError as error:
        raise DataError(f"PhraseCut file {path} does not exist") from error
    except (OSError, json.JSONDecodeError) as error:
        raise DataError(f"cannot read PhraseCut file {path}: {error}") from error
    if not isinstance(data, list):
        raise DataError(f"PhraseCut file {path} holds a {type(data).__name__}, expected a list")
    return data
