"""A sampler that shards each epoch's shuffle over processes and can start mid-epoch.

It yields `(epoch, index)` pairs, so the dataset can make every per-sample choice (which sentence
of a ref) from the seed, the epoch and the index alone: the data of a resumed run is the data the
interrupted run would have seen, whatever the number of loader workers.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch.utils.data import Sampler


class EpochSampler(Sampler[tuple[int, int]]):
    def __init__(self, size: int, batch_size: int, rank: int = 0, world_size: int = 1, seed: int = 0) -> None:
        if size < batch_size * world_size:
            raise ValueError(f"{size} samples cannot fill one batch of {batch_size} on each of {world_size} processes")
        self.size, self.batch_size = size, batch_size
        self.rank, self.world_size, self.seed = rank, world_size, seed
        self.epoch, self.start_batch = 0, 0

    @property
    def batches_per_epoch(self) -> int:
        # Whole batches only, the same number on every process, so the processes stay in step.
        return self.size // (self.batch_size * self.world_size)

    def set_epoch(self, epoch: int, start_batch: int = 0) -> None:
        self.epoch, self.start_batch = epoch, start_batch

    def __iter__(self) -> Iterator[tuple[int, int]]:
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
        order = torch.randperm(self.size, generator=generator)
        per_rank = self.batches_per_epoch * self.batch_size
        shard = order[self.rank * per_rank : (self.rank + 1) * per_rank]
        for index in shard[self.start_batch * self.batch_size :].tolist():
            yield self.epoch, index

    def __len__(self) -> int:
        return (self.batches_per_epoch - self.start_batch) * self.batch_size
