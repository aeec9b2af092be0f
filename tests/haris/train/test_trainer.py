"""Training: checkpoints, logs, exact resume; evaluation and training under two gloo processes."""

from __future__ import annotations

import json
import signal
import time

import pytest
import torch
from safetensors.torch import load_file
from toy_dataset import ToyDataset

from haris.checkpoint import load_checkpoint
from haris.config import load_run_config
from haris.distributed_context import DistributedContext
from haris.errors import ConfigError, DataError, TrainingInterrupted
from haris.modeling import model_builder
from haris.train.trainer import Trainer

RECIPE = [
    "image_size=64",
    "train.epochs=2",
    "train.batch_size=4",
    "train.workers=0",
    "train.lr=1e-3",
    "train.lr_drop_epochs=[1]",
    "train.lr_drop_factor=0.1",  # pinned: the drop test expects 1e-3 x 0.1
    "train.checkpoint_every_steps=1",
]


def make_trainer(run_dir, overrides=(), resume=False):
    run = load_run_config("tiny", RECIPE + list(overrides))
    return Trainer(
        run, ToyDataset(12), ToyDataset(4, seed=1), run_dir, DistributedContext.from_environment("cpu"), show_progress=False, resume=resume
    )


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

    trainer = make_trainer(tmp_path / "resumed", resume=True)
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


def test_cached_frozen_features_train_like_the_full_model(tmp_path):
    exact = ["train.cpu_bf16=false"]
    plain = make_trainer(tmp_path / "plain", exact + ["train.cache_frozen_features=false"])
    cached = make_trainer(tmp_path / "cached", exact + ["train.cache_frozen_features=true"])
    assert plain.feature_cache is None
    assert cached.feature_cache is not None and bool(cached.feature_cache.cached_records().all())
    plain.fit(), cached.fit()
    plain_weights = load_file(str(tmp_path / "plain" / "last" / "model.safetensors"))
    cached_weights = load_file(str(tmp_path / "cached" / "last" / "model.safetensors"))
    # The same batches, the same features: only the encoder's batch composition differs (float rounding).
    assert all(torch.allclose(plain_weights[key], cached_weights[key], atol=1e-4, rtol=1e-3) for key in plain_weights)


def test_feature_cache_refuses_a_trainable_encoder_and_an_oversized_cache(tmp_path):
    with pytest.raises(ConfigError, match="frozen image encoder"):
        make_trainer(tmp_path / "a", ["train.cache_frozen_features=true", "image_encoder.trainable=true"])
    assert make_trainer(tmp_path / "c", ["train.cache_frozen_features=false", "image_encoder.trainable=true"]).feature_cache is None
    with pytest.raises(ConfigError, match="feature_cache_max_gb"):
        make_trainer(tmp_path / "b", ["train.cache_frozen_features=true", "train.feature_cache_max_gb=1e-6"])


class UnreadableFirstImage(ToyDataset):
    def load_image(self, record):
        if record.ref_id == 0:
            raise DataError(f"{record.file_name}: unreadable (ref {record.ref_id})")
        return super().load_image(record)


def test_feature_cache_skips_unreadable_images_only_when_asked(tmp_path):
    run = load_run_config("tiny", RECIPE + ["train.cache_frozen_features=true"])
    context = DistributedContext.from_environment("cpu")
    with pytest.raises(DataError, match="0.png"):
        Trainer(run, UnreadableFirstImage(12), ToyDataset(4, seed=1), tmp_path / "strict", context, show_progress=False)
    lenient = load_run_config("tiny", RECIPE + ["train.cache_frozen_features=true", "train.skip_bad_data=true"])
    trainer = Trainer(lenient, UnreadableFirstImage(12), ToyDataset(4, seed=1), tmp_path / "lenient", context, show_progress=False)
    assert trainer.feature_cache.cached_records().tolist() == [False] + [True] * 11
    assert trainer.fit()["count"] == 8


def test_cpu_bf16_autocasts_the_training_step_only_when_asked(tmp_path, monkeypatch):
    dtypes = []
    trainer = make_trainer(tmp_path / "bf16", ["train.cpu_bf16=true", "train.epochs=1"])
    model_forward = trainer.parallel_model.forward
    monkeypatch.setattr(
        trainer.parallel_model,
        "forward",
        lambda *a: dtypes.append(torch.get_autocast_dtype("cpu") if torch.is_autocast_enabled("cpu") else None) or model_forward(*a),
    )
    assert 0 <= trainer.fit()["mean_iou"] <= 1
    assert dtypes and set(dtypes) == {torch.bfloat16}
    fp32 = make_trainer(tmp_path / "fp32", ["train.cpu_bf16=false"])
    assert not fp32.autocast.enabled


def test_a_signal_stops_training_checkpointed_and_says_it_is_not_finished(tmp_path, monkeypatch):
    trainer = make_trainer(tmp_path)
    step = Trainer._step

    def step_then_signal(self, batch):
        loss = step(self, batch)
        if self.progress.step == 1:  # as Ctrl-C during the second step would
            self._request_stop(signal.SIGINT, None)
        return loss

    monkeypatch.setattr(Trainer, "_step", step_then_signal)
    with pytest.raises(TrainingInterrupted, match="--resume"):
        trainer.fit()
    state = torch.load(tmp_path / "last" / "trainer_state.pt", weights_only=True)
    assert state["progress"]["step"] == 2


def test_a_cosine_run_resumes_with_identical_weights_and_learning_rates(tmp_path, monkeypatch):
    cosine = ["train.lr_schedule=cosine", "train.lr_warmup_epochs=0.5", "train.epochs=3"]
    learning_rates, step = [], Trainer._step
    monkeypatch.setattr(Trainer, "_step", lambda self, batch: (step(self, batch), learning_rates.append(self.optimizer.param_groups[0]["lr"]))[0])
    make_trainer(tmp_path / "straight", cosine).fit()
    straight_rates, learning_rates[:] = list(learning_rates), []
    assert straight_rates[0] < straight_rates[1] and straight_rates[-1] == pytest.approx(0.0, abs=1e-12)  # warm-up, then to zero

    original = Trainer._should_stop
    monkeypatch.setattr(Trainer, "_should_stop", lambda self, start: self.progress.step == 5 or original(self, start))
    make_trainer(tmp_path / "resumed", cosine).fit()
    monkeypatch.setattr(Trainer, "_should_stop", original)
    resumed = make_trainer(tmp_path / "resumed", cosine, resume=True)
    resumed.restore()
    resumed.fit()
    assert learning_rates == straight_rates
    straight_weights = load_file(str(tmp_path / "straight" / "last" / "model.safetensors"))
    resumed_weights = load_file(str(tmp_path / "resumed" / "last" / "model.safetensors"))
    assert all(torch.equal(straight_weights[key], resumed_weights[key]) for key in straight_weights)


def test_a_time_limit_refits_the_schedule_every_epoch_until_the_drop(tmp_path):
    trainer = make_trainer(tmp_path, ["train.epochs=10", "train.time_limit_minutes=1", "train.lr_drop_epochs=[8]"])
    trainer.progress.epoch = 1
    trainer._fit_horizon(time.monotonic() - 30.0, seconds_per_epoch=10.0)  # 30 s of 60 left, 10 s an epoch
    assert trainer.progress.horizon_epochs == pytest.approx(4.0, abs=0.1)  # the drop moves to 3.2
    trainer._save(tmp_path / "last")
    state = torch.load(tmp_path / "last" / "trainer_state.pt", weights_only=True)
    assert state["progress"]["horizon_epochs"] == pytest.approx(4.0, abs=0.1)  # a resume keeps the same schedule
    trainer.progress.epoch = 2
    trainer._fit_horizon(time.monotonic() - 40.0, seconds_per_epoch=5.0)  # epochs got faster: 20 s left, 5 s each
    assert trainer.progress.horizon_epochs == pytest.approx(6.0, abs=0.1)  # the drop moves to 4.8
    trainer.progress.epoch = 5
    trainer._fit_horizon(time.monotonic() - 50.0, seconds_per_epoch=1.0)  # past the drop: settled
    assert trainer.progress.horizon_epochs == pytest.approx(6.0, abs=0.1)


def test_a_resumed_run_never_reads_the_foreign_encoder_files_again(tmp_path, monkeypatch):
    make_trainer(tmp_path, ["train.epochs=1"]).fit()
    monkeypatch.setattr(model_builder, "load_sam_weights", lambda *a: pytest.fail("SAM file read on resume"))
    monkeypatch.setattr(model_builder, "load_clip_text_weights", lambda *a: pytest.fail("CLIP file read on resume"))
    trainer = make_trainer(tmp_path, ["train.epochs=2"], resume=True)
    trainer.restore()
    assert trainer.fit()["count"] == 8


def test_a_resumed_time_limited_run_keeps_the_time_it_already_spent(tmp_path, monkeypatch):
    make_trainer(tmp_path, ["train.epochs=1"]).fit()
    state_file = tmp_path / "last" / "trainer_state.pt"
    state = torch.load(state_file, weights_only=True)
    assert 0 < state["progress"]["elapsed_seconds"] < 600
    state["progress"]["elapsed_seconds"] = 60 * 60.0  # as if this run had already spent its 60 minutes
    torch.save(state, state_file)
    trainer = make_trainer(tmp_path, ["train.epochs=5", "train.time_limit_minutes=60"], resume=True)
    trainer.restore()
    trainer.fit()  # the limit is already reached: it stops after one step, not after the 4 epochs still planned
    assert trainer.progress.step == state["progress"]["step"] + 1
    assert torch.load(state_file, weights_only=True)["progress"]["elapsed_seconds"] >= 60 * 60
