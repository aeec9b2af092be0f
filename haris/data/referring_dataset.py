"""What every dataset of HARIS provides (the refer format, PhraseCut): the one interface that training,
evaluation, the parity bench and the ablations read."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np


class ReferringRecord(Protocol):
    """One referred object of one image, with its sentences."""

    ref_id: int
    file_name: str
    height: int
    width: int
    sentences: tuple[str, ...]


class ReferringDataset(Protocol):
    """One split: `records` (one per referred object: training items) and `expressions` (one per
    sentence, as (record index, sentence index): what evaluation scores)."""

    records: Sequence[ReferringRecord]
    expressions: Sequence[tuple[int, int]]
    image_dir: Path

    def load_image(self, record: ReferringRecord) -> np.ndarray:
        """uint8 (H, W, 3) RGB; DataError naming the file when it cannot be read."""
        ...

    def load_mask(self, record: ReferringRecord) -> np.ndarray:
        """bool (H, W) at the image's original size."""
        ...
