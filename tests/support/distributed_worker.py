"""Entry points for processes started by torch.multiprocessing in the distributed tests."""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch
from toy_dataset import ToyDataset

from haris.checkpoint import load_checkpoint
from haris.config import load_run_config
from haris.distributed_context import DistributedContext
from haris.evaluation.evaluator import evaluate
from haris.train.trainer import Trainer


def join_group(rank: int, world_size: int, port: int) -> DistributedContext:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), WORLD_SIZE=str(world_size), RANK=str(rank), LOCAL_RANK=str(rank))
    torch.set_num_threads(1)
    return DistributedContext.from_environment("cpu")


def evaluate_worker(rank: int, world_size: int, port: int, checkpoint: str, out: str) -> None:
    context = join_group(rank, world_size, port)
    result = evaluate(load_checkpoint(checkpoint), ToyDataset(10, seed=2), context)
    if context.is_main:
        Path(out).write_text(json.dumps({"metrics": result.metrics, "results": result.results}))
    context.close()


def train_worker(rank: int, world_size: int, port: int, overrides: list[str], run_dir: str) -> None:
    context = join_group(rank, world_size, port)
    trainer = Trainer(load_run_config("tiny", overrides), ToyDataset(12), ToyDataset(4, seed=1), Path(run_dir), context, show_progress=False)
    trainer.fit()
    torch.save(trainer.model.state_dict(), Path(run_dir) / f"rank{rank}.pt")
    context.close()


def flags_worker(rank: int, world_size: int, port: int, out: str) -> None:
    """Rank 1 alone raises the first flag; every rank writes what any_process says of both."""
    context = join_group(rank, world_size, port)
    Path(out, f"flags{rank}.json").write_text(json.dumps(context.any_process(rank == 1, False)))
    context.close()
