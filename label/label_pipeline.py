"""The Ray side of `haris label`: Ray started or joined, and one Ray Data pipeline over the shards to do.

Each shard to do is one input block (a small Arrow table of its images' index, path and expressions),
so one actor task labels one shard, in `batch_size` batches, and a killed actor costs one shard's work:
Ray Data's actor pools restart a dead actor and retry its task (`max_restarts` and `max_task_retries`
are -1 by default in Ray 2.60's ActorPoolMapOperator). The driver reads the output with
`iter_batches` and is the only writer of files, so what it writes does not depend on which actor, node
or retry labelled an image. Blocks are fed to the pool as actors free up (Ray Data's streaming
executor with its back-pressure), so the pixels and masks in flight stay bounded however many images
the run has; the driver holds only the list of paths and expressions.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pyarrow
import ray
import ray.data

from haris.label.batch_labeller import BatchLabeller
from haris.label.expression_table import ExpressionTable
from haris.label.label_settings import LabelSettings
from haris.ray_session import start_ray

ACTOR_START_TIMEOUT_S = 600


def start_ray_unless_running(address: str | None) -> bool:
    """Join the cluster at `address`, or start Ray on this machine; True when this call started or joined it
    (a process that has Ray running already, such as a test, keeps its own)."""
    if ray.is_initialized():
        return False
    start_ray(address)
    return True


def stop_ray() -> None:
    ray.shutdown()


def pool_bounds(settings: LabelSettings, blocks: int) -> tuple[int, int]:
    """(min, max) actors: --actors, or as many as the cluster's GPUs (with --num-gpus) or CPUs hold, and
    its memory with --memory, never more than there are shards to do."""
    if settings.actors is not None:
        low, high = settings.actors
    else:
        resources = ray.cluster_resources()
        kind, each = ("GPU", settings.num_gpus) if settings.num_gpus > 0 else ("CPU", settings.num_cpus)
        fits = [int(resources.get(kind, 1) // each) if each > 0 else 1]
        if settings.actor_memory_bytes:
            fits.append(int(resources.get("memory", 0) // settings.actor_memory_bytes))
        low = high = max(1, min(fits))
    return min(low, blocks), min(high, blocks)


def labelled_batches(
    settings: LabelSettings, shards: Sequence[tuple[int, range]], images: Sequence[Path], table: ExpressionTable
) -> Iterator[dict[str, np.ndarray]]:
    """The actors' output rows for the images of `shards` ((shard id, image indices) pairs), in batches as they arrive."""
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False  # the run's own progress (label_progress.py) counts images
    context.print_on_execution_start = False
    # The pool's minimum starts before any shard is handed out, so every actor labels from the first shard
    # on (else the first actor ready may take them all on a small run); a pool the cluster cannot hold
    # fails after this long, saying so, instead of waiting unseen.
    context.wait_for_min_actors_s = ACTOR_START_TIMEOUT_S
    blocks = [_shard_block(shard, indices, images, table) for shard, indices in shards]
    low, high = pool_bounds(settings, len(blocks))
    dataset = ray.data.from_arrow(blocks).map_batches(
        BatchLabeller,
        batch_size=settings.batch_size,
        batch_format="numpy",
        compute=ray.data.ActorPoolStrategy(min_size=low, max_size=high),
        fn_constructor_kwargs={
            "bundle": str(Path(settings.bundle).absolute()),
            "backend": settings.backend,
            "device": settings.actor_device,
            "precision": settings.precision,
            "threads": settings.actor_threads,
        },
        num_cpus=settings.num_cpus,
        num_gpus=settings.num_gpus,
        memory=settings.actor_memory_bytes,
    )
    yield from dataset.iter_batches(batch_size=None, batch_format="numpy")


def _shard_block(shard: int, indices: range, images: Sequence[Path], table: ExpressionTable) -> pyarrow.Table:
    return pyarrow.table(
        {
            "index": np.arange(indices.start, indices.stop, dtype=np.int64),
            "shard": np.full(len(indices), shard, np.int64),
            "path": [str(images[index]) for index in indices],
            "expressions": [json.dumps(table.per_image[index]) for index in indices],
        }
    )
