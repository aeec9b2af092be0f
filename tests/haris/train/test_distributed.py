"""Two gloo processes on the CPU: the same evaluation sums as one process; training stays in step."""

from __future__ import annotations

import json

import torch
import torch.multiprocessing as mp
from distributed_worker import evaluate_worker, flags_worker, train_worker
from local_ports import free_port
from tiny_models import build_tiny
from toy_dataset import ToyDataset

from haris.checkpoint import save_checkpoint
from haris.distributed_context import DistributedContext
from haris.evaluation.evaluator import evaluate


def test_two_process_evaluation_gives_the_same_sums(tmp_path):
    model = build_tiny(["image_size=64"])
    save_checkpoint(model, tmp_path / "ckpt")
    single = evaluate(model, ToyDataset(10, seed=2), DistributedContext.from_environment("cpu"))
    mp.spawn(evaluate_worker, args=(2, free_port(), str(tmp_path / "ckpt"), str(tmp_path / "two.json")), nprocs=2)
    two = json.loads((tmp_path / "two.json").read_text())
    assert two["results"] == single.results
    assert two["metrics"] == single.metrics


def test_two_process_training_keeps_the_replicas_identical(tmp_path):
    overrides = ["image_size=64", "train.epochs=1", "train.batch_size=4", "train.workers=0"]
    mp.spawn(train_worker, args=(2, free_port(), overrides, str(tmp_path)), nprocs=2)
    first, second = torch.load(tmp_path / "rank0.pt"), torch.load(tmp_path / "rank1.pt")
    assert all(torch.equal(first[key], second[key]) for key in first)
    assert (tmp_path / "last" / "model.safetensors").is_file() and (tmp_path / "best" / "model.safetensors").is_file()


def test_a_flag_raised_on_one_process_is_seen_by_every_process(tmp_path):
    """What stops training in step: one process's Ctrl-C or time limit stops them all at the same step."""
    mp.spawn(flags_worker, args=(2, free_port(), str(tmp_path)), nprocs=2)
    assert [json.loads((tmp_path / f"flags{rank}.json").read_text()) for rank in (0, 1)] == [[True, False], [True, False]]
    assert DistributedContext.from_environment("cpu").any_process(True, False) == (True, False)  # one process: as given
