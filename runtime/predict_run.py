"""`haris predict`: masks, overlays and one JSON for images and expressions, from a bundle or checkpoint.

Per image: `<name>.<k>.mask.png` (white = the object), `<name>.<k>.overlay.png` (the mask tinted,
the expression written above) for expression k, and `predictions.json`: `{"model", "images",
"skipped"}`, each image with its `path`, its `output_stem` (the <name> of its files) and the
`image` and `results` of the answer schema (runtime/answer_json.py). A bad image is reported by name
and skipped with `skip_bad`; otherwise it stops the run with a one-line error.
"""

from __future__ import annotations

import glob
import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from PIL import Image

from haris.errors import HarisError
from haris.progress import Progress
from haris.runtime.answer_json import encode_image_results
from haris.runtime.expression_check import check_expressions
from haris.runtime.image_loading import ImageError, load_rgb
from haris.runtime.mask_overlay import write_overlay
from haris.runtime.predictor import Predictor

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp"}


class PredictorLike(Protocol):
    """What predict_images runs: a Predictor, or a service in its place (haris.serve.remote_predictor)."""

    description: dict[str, Any]

    def segment(self, image: np.ndarray, expressions: Sequence[str]) -> list: ...


def find_images(sources: Sequence[str], recursive: bool = False) -> list[Path]:
    """Files, folders (their images, sorted; with `recursive`, those of their subfolders too) and
    glob patterns, in the order given."""
    images: list[Path] = []
    for source in sources:
        path = Path(source)
        if path.is_dir():
            files = path.rglob("*") if recursive else path.iterdir()
            images += sorted(file for file in files if file.suffix.lower() in IMAGE_SUFFIXES and file.is_file())
        elif path.exists():
            images.append(path)
        else:
            matches = sorted(Path(match) for match in glob.glob(source, recursive=True))
            if not matches:
                raise HarisError(f"{source}: no such file, folder or matching image")
            images += matches
    return images


def predict_images(
    predictor: PredictorLike,
    images: Sequence[Path],
    expressions: Sequence[str],
    out: str | Path,
    skip_bad: bool = False,
    progress: bool = True,
) -> dict:
    """Run every expression on every image; write the files above and return the JSON written."""
    check_expressions(expressions)  # a bad expression fails now, not after the first image
    if isinstance(predictor, Predictor):
        predictor.tokenize(list(expressions))  # and so does one with no words, which only the model's tokenizer finds
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    results, skipped = [], []
    for path, stem in Progress(zip(images, _output_stems(images)), "predict", total=len(images), unit="img", enabled=progress):
        try:
            rgb = load_rgb(path)
            predictions = predictor.segment(rgb, expressions)  # refuses an image too thin for the model
        except ImageError as error:
            if not skip_bad:
                raise
            skipped.append(str(error) if str(path) in str(error) else f"{path}: {error}")
            continue
        results.append({"path": str(path), "output_stem": stem, **encode_image_results(rgb.shape, predictions)})
        _write_image_files(out, stem, rgb, predictions)
    report = {"model": dict(predictor.description), "images": results, "skipped": skipped}
    (out / "predictions.json").write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    return report


def _write_image_files(out: Path, stem: str, rgb: np.ndarray, predictions: list) -> None:
    for index, prediction in enumerate(predictions):
        Image.fromarray(prediction.mask.astype(np.uint8) * 255).save(out / f"{stem}.{index}.mask.png")
        caption = f'"{prediction.expression}"  score {prediction.score:.2f}'
        write_overlay(out / f"{stem}.{index}.overlay.png", rgb, prediction.mask, None, caption)


def _output_stems(images: Sequence[Path]) -> list[str]:
    """Per image, the stem of its output files: the file's stem, with its folder's name when two
    inputs share a stem, numbered when that still repeats (x.png and x.jpg in one folder)."""
    shared = Counter(path.stem for path in images)
    stems: list[str] = []
    taken: set[str] = set()
    for path in images:
        stem = path.stem if shared[path.stem] == 1 else f"{path.parent.name}_{path.stem}"
        unique, count = stem, 1
        while unique in taken:
            count += 1
            unique = f"{stem}_{count}"
        stems.append(unique)
        taken.add(unique)
    return stems
