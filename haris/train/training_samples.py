"""Training items: one per ref, with one of its sentences, as model inputs and a loss target."""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from haris.config.model_config import ModelConfig
from haris.data.text_tokenizer import TextTokenizer
from haris.errors import DataError
from haris.image_transforms import preprocess_image, resized_shape

MASK_STRIDE = 4  # the decoder predicts at S/4


class TrainingSamples(Dataset):
    """Indexed by `(epoch, index)` from EpochSampler; the sentence is drawn from (seed, epoch, index).

    With `skip_bad`, an image that turns out unreadable yields None (dropped by `collate_samples`).
    With `cached_records` (bool per record, from a FrozenFeatureCache) a sample carries its
    `record_index` instead of the image, whose features the trainer looks up; what is left per
    sample (the target, the tokens) is then the same every epoch, so it is memoized too.
    """

    def __init__(self, dataset: Any, config: ModelConfig, seed: int = 0, skip_bad: bool = False, cached_records: torch.Tensor | None = None) -> None:
        self.dataset, self.config, self.seed, self.skip_bad = dataset, config, seed, skip_bad
        self.cached_records = cached_records
        self.tokenizer = TextTokenizer(config)
        self._targets: dict[int, torch.Tensor] = {}
        self._tokens: dict[str, torch.Tensor] = {}

    def __len__(self) -> int:
        return len(self.dataset.records)

    def __getitem__(self, key: tuple[int, int]) -> dict[str, torch.Tensor] | None:
        epoch, index = key
        record = self.dataset.records[index]
        sentence = record.sentences[random.Random(f"{self.seed}/{epoch}/{index}").randrange(len(record.sentences))]
        if self.cached_records is not None:
            return self._cached_sample(index, record, sentence)
        return self._loaded_sample(record, sentence)

    def _loaded_sample(self, record: Any, sentence: str) -> dict[str, torch.Tensor] | None:
        try:
            image = self.dataset.load_image(record)
        except DataError:
            if self.skip_bad:
                return None
            raise
        size, preprocess = self.config.image_size, self.config.preprocess
        model_input, resized = preprocess_image(image, size, preprocess.pixel_mean, preprocess.pixel_std)
        return {"image": torch.from_numpy(model_input), "text_tokens": self.tokenizer([sentence])[0], "target": self._target(record, resized)}

    def _cached_sample(self, index: int, record: Any, sentence: str) -> dict[str, torch.Tensor] | None:
        if not self.cached_records[index]:
            return None
        if index not in self._targets:
            self._targets[index] = self._target(record, resized_shape(record.height, record.width, self.config.image_size))
        if sentence not in self._tokens:
            self._tokens[sentence] = self.tokenizer([sentence])[0]
        return {"record_index": torch.tensor(index), "text_tokens": self._tokens[sentence], "target": self._targets[index]}

    def _target(self, record: Any, resized: tuple[int, int]) -> torch.Tensor:
        return torch.from_numpy(mask_target(self.dataset.load_mask(record), resized, self.config.image_size))[None]


def mask_target(mask: np.ndarray, resized: tuple[int, int], image_size: int) -> np.ndarray:
    """The ground truth placed like the image (resized, padded) and averaged over 4x4 cells: a soft
    (S/4, S/4) target whose border pixels carry the fraction of the cell the object covers."""
    scaled = Image.fromarray(mask.astype(np.uint8) * 255).resize((resized[1], resized[0]), Image.BILINEAR)
    canvas = np.zeros((image_size, image_size), dtype=np.float32)
    canvas[: resized[0], : resized[1]] = np.asarray(scaled, dtype=np.float32) / 255.0
    cells = image_size // MASK_STRIDE
    return canvas.reshape(cells, MASK_STRIDE, cells, MASK_STRIDE).mean(axis=(1, 3))


def collate_samples(samples: list[dict[str, torch.Tensor] | None]) -> dict[str, torch.Tensor] | None:
    kept = [sample for sample in samples if sample is not None]
    if not kept:
        return None
    return {key: torch.stack([sample[key] for sample in kept]) for key in kept[0]}
