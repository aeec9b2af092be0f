"""A small in-memory referring dataset with the loaders' interface, for training and evaluation tests."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

COLOURS = {"red": (220, 30, 30), "green": (30, 200, 30), "blue": (30, 30, 220)}


@dataclass(frozen=True)
class ToyRecord:
    ref_id: int
    file_name: str
    height: int
    width: int
    sentences: tuple[str, ...]
    box: tuple[int, int, int, int]
    colour: str


class ToyDataset:
    """Images of one coloured square on grey; each ref has two sentences naming its colour."""

    def __init__(self, size: int = 16, seed: int = 0, height: int = 48, width: int = 64) -> None:
        rng = np.random.default_rng(seed)
        self.records = []
        for ref_id in range(size):
            colour = list(COLOURS)[ref_id % len(COLOURS)]
            top, left = int(rng.integers(0, height - 20)), int(rng.integers(0, width - 20))
            self.records.append(
                ToyRecord(ref_id, f"{ref_id}.png", height, width, (f"the {colour} square", f"{colour} one"), (top, left, 16, 16), colour)
            )
        self.expressions = [(i, j) for i, record in enumerate(self.records) for j in range(len(record.sentences))]

    def load_image(self, record: ToyRecord) -> np.ndarray:
        image = np.full((record.height, record.width, 3), 128, dtype=np.uint8)
        top, left, h, w = record.box
        image[top : top + h, left : left + w] = COLOURS[record.colour]
        return image

    def load_mask(self, record: ToyRecord) -> np.ndarray:
        mask = np.zeros((record.height, record.width), dtype=bool)
        top, left, h, w = record.box
        mask[top : top + h, left : left + w] = True
        return mask
