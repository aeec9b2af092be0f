from __future__ import annotations

import pytest

from haris.train.epoch_sampler import EpochSampler


def test_shards_are_disjoint_whole_batches_and_cover_the_epoch():
    shards = [list(EpochSampler(10, batch_size=2, rank=r, world_size=2, seed=1)) for r in range(2)]
    indices = [index for shard in shards for _, index in shard]
    assert all(len(shard) == 4 for shard in shards)  # 10 // (2 * 2) = 2 batches of 2 per process
    assert len(set(indices)) == len(indices) == 8


def test_order_depends_on_seed_and_epoch_only():
    first, again = EpochSampler(20, 4, seed=3), EpochSampler(20, 4, seed=3)
    first.set_epoch(2)
    again.set_epoch(2)
    assert list(first) == list(again)
    again.set_epoch(3)
    assert list(first) != list(again)
    assert {epoch for epoch, _ in first} == {2}


def test_starting_mid_epoch_skips_exactly_the_done_batches():
    sampler = EpochSampler(20, 4, seed=0)
    sampler.set_epoch(1)
    whole = list(sampler)
    sampler.set_epoch(1, start_batch=2)
    assert list(sampler) == whole[8:] and len(sampler) == 12


def test_too_small_a_dataset_is_refused():
    with pytest.raises(ValueError, match="cannot fill one batch"):
        EpochSampler(3, batch_size=2, world_size=2)
