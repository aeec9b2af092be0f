"""Training: checkpoints, logs, exact resume; evaluation and training under two gloo processes."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file
from toy_dataset import ToyDataset

from haris.checkpoint import load_checkpoint
from haris.config import load_run_config
from haris.train.distributed_context import DistributedContext
from haris.train.trainer import Trainer

RECIPE = ["image_size=64", "train.epochs=2", "train.batch_size=4", "train.workers=0", "train.lr=1e-3",
          "train.lr_drop_epochs=[1]", "train.checkpoint_every_steps=1"]


def make_trainer(run_dir, overrides=()):
    run = load_run_config("tiny", RECIPE + list(overrides))
    return Trainer(run, ToyDataset(12), ToyDataset(4, seed=1), run_dir, DistributedContext.from_environment("cpu"), show_progress=False)


def test_run_writes_checkpoints_log_and_curve(tmp_path):
    metrics = make_trainer(tmp_path).fit()
    assert 0 <= metrics["mean_iou"] <= 1 and metrics["count"] == 8
    log = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    validations = [entry for entry in log if "val_mean_iou" in entry]
    assert [entry["epoch"] for entry in validations] == [1, 2] and validations[-1]["step"] == 6
    assert (tmp_path / "loss_curve.png").stat().st_size > 0
    best, last = load_checkpoint(tmp_path / "best"), load_checkpoint(tmp_path / "last")
    assert best.config == last.config and (tmp_path / "last" / "trainer_state.pt").is_file()


def test_resume_after_an_interruption_ends_with_identical_weights(tmp_path, monkeypatch):
    make_trainer(tmp_path / "straight").fit()

    original = Trainer._should_stop
    monkeypatch.setattr(Trainer, "_should_stop", lambda self, start: self.progress.step == 4 or original(self, start))
    make_trainer(tmp_path / "resumed").fit()  # stops mid-epoch 2 (3 batches an epoch), checkpointed
    monkeypatch.setattr(Trainer, "_should_stop", original)
    state = torch.load(tmp_path / "resumed" / "last" / "trainer_state.pt", weights_only=True)
    assert state["progress"]["step"] == 4 and state["progress"]["batch_in_epoch"] == 1

    trainer = make_trainer(tmp_path / "resumed")
    trainer.restore()
    trainer.fit()
    straight = load_file(str(tmp_path / "straight" / "last" / "model.safetensors"))
    resumed = load_file(str(tmp_path / "resumed" / "last" / "model.safetensors"))
    assert straight.keys() == resumed.keys()
    assert all(torch.equal(straight[key], resumed[key]) for key in straight)
    steps = [entry["step"] for entry in map(json.loads, (tmp_path / "resumed" / "log.jsonl").read_text().splitlines())]
    assert steps == sorted(steps)  # what ran after the checkpoint was dropped, not logged twice


def test_learning_rate_drops_at_the_configured_epoch(tmp_path):
    trainer = make_trainer(tmp_path)
    trainer.fit()
    assert trainer.optimizer.param_groups[0]["lr"] == pytest.approx(1e-4)
