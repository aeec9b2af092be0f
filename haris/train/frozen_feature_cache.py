"""Image-encoder features of every training image, computed once, for runs with a frozen encoder.

A frozen image encoder sees the same pixels every epoch (training has no augmentation), so its
three taps are a pure function of the image. Computing them once, before the first step, takes
image decoding, pre-processing and the encoder out of every later step; the trainable fusion and
decoder then see exactly the features they would have seen. Holding them in memory only suits
small image encoders or small datasets, so the size is estimated first and checked against
`train.feature_cache_max_gb`.
"""

from __future__ import annotations

import logging
from typing import Any

import torch

from haris.errors import ConfigError, DataError
from haris.image_transforms import preprocess_image
from haris.modeling.haris_model import Haris, ImageFeatures
from haris.progress import Progress
from haris.train.training_samples import MASK_STRIDE

log = logging.getLogger(__name__)

ENCODE_BATCH = 32
MISSING = -1  # image row of a record whose image could not be read (skip_bad_data)


class FrozenFeatureCache:
    """Three (images, Cv, S/16, S/16) tensors and each record's row in them."""

    def __init__(self, taps: list[torch.Tensor], record_rows: torch.Tensor) -> None:
        self.taps, self.record_rows = taps, record_rows

    @classmethod
    def build(
        cls,
        model: Haris,
        dataset: Any,
        max_gb: float,
        skip_bad: bool = False,
        progress: bool = True,
    ) -> FrozenFeatureCache:
        """Encode each distinct image of `dataset.records` once, on the model's device, under no_grad."""
        if model.image_encoder.trainable:
            raise ConfigError(
                "train.cache_frozen_features needs a frozen image encoder: set image_encoder.trainable=false or train.cache_frozen_features=false"
            )
        first_record_of_image = _first_record_of_each_image(dataset.records)
        _check_size(model, len(first_record_of_image), len(dataset.records), max_gb)
        image_names = list(first_record_of_image)
        taps, failed = _encode_images(model, dataset, [first_record_of_image[name] for name in image_names], skip_bad, progress)
        row_of_image = {name: (MISSING if row in failed else row) for row, name in enumerate(image_names)}
        record_rows = torch.tensor([row_of_image[record.file_name] for record in dataset.records])
        if failed:
            log.warning("feature cache: skipped %d unreadable images (%d refs)", len(failed), int((record_rows == MISSING).sum()))
        log.info("feature cache: %d images, %.2f GB", len(image_names) - len(failed), _gigabytes(taps))
        return cls(taps, record_rows)

    def cached_records(self) -> torch.Tensor:
        """bool (records,): which records have features (all, unless unreadable images were skipped)."""
        return self.record_rows != MISSING

    def lookup(self, record_indices: torch.Tensor, device: torch.device) -> ImageFeatures:
        rows = self.record_rows[record_indices.cpu()]
        return ImageFeatures(*(tap[rows].to(device, non_blocking=True) for tap in self.taps))


def _first_record_of_each_image(records: list) -> dict[str, Any]:
    firsts: dict[str, Any] = {}
    for record in records:
        firsts.setdefault(record.file_name, record)
    return firsts


def _check_size(model: Haris, images: int, records: int, max_gb: float) -> None:
    # The three float32 taps of each image, and each record's float32 loss target that
    # TrainingSamples memoizes alongside.
    size, channels = model.config.image_size, model.image_encoder.embed_dim
    needed = (images * 3 * channels * (size // 16) ** 2 + records * (size // MASK_STRIDE) ** 2) * 4 / 1e9
    if needed > max_gb:
        raise ConfigError(
            f"the frozen-feature cache for {images} images and {records} refs would take {needed:.1f} GB (image_size {size}, "
            f"{channels} channels, 3 taps), over train.feature_cache_max_gb={max_gb}; "
            "raise the limit or set train.cache_frozen_features=false"
        )


def _encode_images(model: Haris, dataset: Any, records: list, skip_bad: bool, progress: bool) -> tuple[list[torch.Tensor], set[int]]:
    device = next(model.parameters()).device
    size, preprocess = model.config.image_size, model.config.preprocess
    chunks: list[list[torch.Tensor]] = [[], [], []]
    failed: set[int] = set()
    for start in Progress(range(0, len(records), ENCODE_BATCH), "feature cache", unit="batch", enabled=progress):
        pixels = []
        for row, record in enumerate(records[start : start + ENCODE_BATCH], start=start):
            try:
                image = dataset.load_image(record)
            except DataError:
                if not skip_bad:
                    raise
                failed.add(row)
                image = None
            pixels.append(
                torch.zeros(3, size, size)
                if image is None
                else torch.from_numpy(preprocess_image(image, size, preprocess.pixel_mean, preprocess.pixel_std)[0])
            )
        with torch.no_grad():
            for chunk, tap in zip(chunks, model.encode_image(torch.stack(pixels).to(device))):
                chunk.append(tap.float().cpu())
    return [torch.cat(chunk) for chunk in chunks], failed


def _gigabytes(taps: list[torch.Tensor]) -> float:
    return sum(tap.numel() * tap.element_size() for tap in taps) / 1e9
