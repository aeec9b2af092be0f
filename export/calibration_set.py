"""The images and expressions INT8 quantization is calibrated on, and each stage's inputs from them.

Three sources (`--calibration`):
- none: synthetic scenes rendered in memory, each with its own expressions (no files needed);
- a dataset folder in the refer format or PhraseCut: its images with their own sentences;
- a folder of images: the images, each paired with a fixed list of everyday referring expressions.

Stage inputs are chained through the eager FP32 model, as the export checks are: the fusion graph
is calibrated on the encoders' outputs, the decoder on the fusion's, so every graph sees the
activations it will see in use. A source that cannot give `count` readable images is an error that
says why; nothing is quantized on fewer.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch

from haris.data.dataset_source import DatasetSource
from haris.data.referring_dataset import ReferringDataset
from haris.data.synthetic.demo_scene import render_scene, scene_sentences
from haris.data.text_tokenizer import TextTokenizer
from haris.errors import DataError, ExportError
from haris.image_transforms import preprocess_image
from haris.modeling.haris_model import Haris
from haris.runtime.image_loading import ImageError, load_rgb
from haris.runtime.tensor_contract import STAGE_INPUTS

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}
EXPRESSIONS_PER_IMAGE = 4
# For a folder of photos, which comes without sentences: phrases of the kinds RefCOCO holds.
EVERYDAY_EXPRESSIONS = (
    "the man on the left",
    "woman in the red shirt",
    "the dog",
    "car on the right",
    "the chair closest to us",
    "white plate in the middle",
    "the person standing at the back",
    "small cup next to the laptop",
)
MIN_IMAGES = 2


class CalibrationItem(NamedTuple):
    pixels: np.ndarray  # uint8 (H, W, 3)
    expressions: list[str]


def calibration_items(source: str | Path | None, count: int, image_size: int, seed: int = 1) -> list[CalibrationItem]:
    """`count` images with up to EXPRESSIONS_PER_IMAGE expressions each, from `source` (see above).

    The synthetic default uses seed 1, so it holds other scenes than the export checks' (seed 0).
    """
    if count < MIN_IMAGES:
        raise ExportError(f"INT8 calibration needs at least {MIN_IMAGES} images, got {count}")
    if source is None:
        scenes = [render_scene(index, seed, image_size) for index in range(count)]
        return [CalibrationItem(scene.pixels, scene_sentences(scene)[:EXPRESSIONS_PER_IMAGE]) for scene in scenes]
    folder = Path(source)
    if not folder.is_dir():
        raise ExportError(f"calibration folder not found: {folder}")
    if any(folder.glob("refs(*).p")) or (folder / "image_data_split.json").is_file():
        return _dataset_items(folder, count)
    return _folder_items(folder, count)


def stage_feeds(model: Haris, items: list[CalibrationItem]) -> dict[str, list[dict[str, np.ndarray]]]:
    """Per graph, one feed per calibration image: its stage inputs from the eager FP32 model."""
    config, tokenizer = model.config, TextTokenizer(model.config)
    feeds: dict[str, list[dict[str, np.ndarray]]] = {stage: [] for stage in STAGE_INPUTS}
    with torch.inference_mode():
        for item in items:
            pixels, _ = preprocess_image(item.pixels, config.image_size, config.preprocess.pixel_mean, config.preprocess.pixel_std)
            image, tokens = torch.from_numpy(pixels)[None], tokenizer.to_longest(item.expressions)
            feats, text = model.encode_image(image), model.encode_text(tokens)
            fused = model.fuse(*feats, *text)
            tensors = {"image": image, "text_tokens": tokens, **feats._asdict(), **text._asdict(), **fused._asdict()}
            for stage, names in STAGE_INPUTS.items():
                feeds[stage].append({name: tensors[name].numpy() for name in names})
    return feeds


def _dataset_items(folder: Path, count: int) -> list[CalibrationItem]:
    dataset = _first_split(folder)
    items, seen = [], set()
    for record in dataset.records:
        if record.file_name in seen:
            continue
        seen.add(record.file_name)
        try:
            items.append(CalibrationItem(dataset.load_image(record), list(record.sentences[:EXPRESSIONS_PER_IMAGE])))
        except DataError as error:
            raise ExportError(f"calibration image unreadable: {error}") from None
        if len(items) == count:
            return items
    raise ExportError(f"{folder} holds {len(items)} images in its {dataset.split} split, fewer than the {count} asked for calibration")


def _first_split(folder: Path) -> ReferringDataset:
    for split in ("train", "val", "test"):
        try:
            return DatasetSource(folder, split).open()
        except DataError:
            continue
    raise ExportError(f"{folder} has none of the splits train, val, test to calibrate on")


def _folder_items(folder: Path, count: int) -> list[CalibrationItem]:
    files = sorted(path for path in folder.iterdir() if path.suffix.lower() in IMAGE_SUFFIXES)
    if len(files) < count:
        raise ExportError(f"{folder} holds {len(files)} images ({', '.join(sorted(IMAGE_SUFFIXES))}), fewer than the {count} asked for calibration")
    items = []
    for index, path in enumerate(files[:count]):
        try:
            pixels = load_rgb(path)
        except ImageError as error:
            raise ExportError(f"calibration image unreadable: {error}") from None
        start = (index * EXPRESSIONS_PER_IMAGE) % len(EVERYDAY_EXPRESSIONS)
        expressions = [EVERYDAY_EXPRESSIONS[(start + k) % len(EVERYDAY_EXPRESSIONS)] for k in range(EXPRESSIONS_PER_IMAGE)]
        items.append(CalibrationItem(pixels, expressions))
    return items
