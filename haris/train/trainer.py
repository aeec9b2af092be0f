"""Training HARIS in one process or under torchrun (DistributedDataParallel), resumable exactly.

A run directory holds `run.json` (config and data), `log.jsonl`, `loss_curve.png`, and two
checkpoints: `last/` (written every epoch, every `checkpoint_every_steps`, on a time limit and on
Ctrl-C / SIGTERM, with the optimizer, progress and RNG state beside the weights) and
`best/` (the best validation mean IoU so far). Every checkpoint is written atomically.
"""

from __future__ import annotations

import io
import logging
import signal
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader

from haris.checkpoint.checkpoint_io import load_checkpoint, save_checkpoint
from haris.config.run_config import RunConfig
from haris.distributed_context import DistributedContext
from haris.errors import TrainingInterrupted
from haris.evaluation.evaluator import evaluate
from haris.losses import FocalDiceLoss
from haris.modeling.model_builder import build_model
from haris.progress import Progress
from haris.train.autocast_choice import choose_autocast
from haris.train.epoch_sampler import EpochSampler
from haris.train.feature_input_model import FeatureInputModel
from haris.train.frozen_feature_cache import FrozenFeatureCache
from haris.train.learning_rate_schedule import fit_horizon_epochs, horizon_is_settled, learning_rate
from haris.train.training_log import TrainingLog
from haris.train.training_samples import TrainingSamples, collate_samples

LAST, BEST, STATE_FILE, LOG_FILE, CURVE_FILE = "last", "best", "trainer_state.pt", "log.jsonl", "loss_curve.png"
LOG_EVERY_STEPS = 10
log = logging.getLogger(__name__)


@dataclass
class TrainingProgress:
    epoch: int = 0
    batch_in_epoch: int = 0  # batches of `epoch` already trained
    step: int = 0
    best_mean_iou: float = -1.0
    horizon_epochs: float = 0.0  # the epochs the lr schedule spans; 0: train.epochs (refitted to a time limit every epoch)
    elapsed_seconds: float = 0.0  # of the run so far, over every process that trained it: the time limit is the run's


class Trainer:
    def __init__(
        self,
        run: RunConfig,
        train_data: Any,
        val_data: Any,
        run_dir: Path,
        context: DistributedContext,
        show_progress: bool = True,
        resume: bool = False,
    ) -> None:
        """With `resume`, the weights come from the run's `last/` checkpoint (call `restore` for the
        rest of its state); the foreign SAM and CLIP files are read only when a run starts."""
        self.run, self.recipe, self.run_dir, self.context = run, run.train, Path(run_dir), context
        self.train_data, self.val_data, self.show_progress = train_data, val_data, show_progress and context.is_main
        self.started = time.monotonic()  # the time limit counts the feature cache's build too
        torch.manual_seed(self.recipe.seed)  # the same initial weights on every process
        if resume:
            self.model = load_checkpoint(self.run_dir / LAST, context.device)
        else:
            self.model = build_model(run.model, load_pretrained=True).to(context.device)
        self.feature_cache = self._feature_cache()
        self.parallel_model = self._parallel(FeatureInputModel(self.model) if self.feature_cache else self.model)
        # fused: one kernel over all parameters instead of several small ops per tensor (docs/measurements.md)
        self.optimizer = torch.optim.Adam(self.model.trainable_parameters(), lr=self.recipe.lr, weight_decay=self.recipe.weight_decay, fused=True)
        self.autocast = choose_autocast(self.recipe, context.device)
        log.info(self.autocast.reason)
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.autocast.grad_scaler)
        self.criterion = FocalDiceLoss(self.recipe.focal_weight, self.recipe.dice_weight)
        self.sampler, self.loader = self._data_loader()
        self.progress = TrainingProgress()
        self.log = TrainingLog(self.run_dir / LOG_FILE, enabled=context.is_main)
        self.stop_requested = False
        self.interrupted = False  # a signal stopped this process or another one

    def _feature_cache(self) -> FrozenFeatureCache | None:
        if not self.recipe.cache_frozen_features:
            return None
        return FrozenFeatureCache.build(self.model, self.train_data, self.recipe.feature_cache_max_gb, self.recipe.skip_bad_data, self.show_progress)

    def _parallel(self, model: torch.nn.Module) -> torch.nn.Module:
        if not self.context.distributed:
            return model
        device_ids = [self.context.device.index] if self.context.device.type == "cuda" else None
        return DistributedDataParallel(model, device_ids=device_ids)

    def _data_loader(self) -> tuple[EpochSampler, DataLoader]:
        per_process = max(1, self.recipe.batch_size // self.context.world_size)
        sampler = EpochSampler(len(self.train_data.records), per_process, self.context.rank, self.context.world_size, self.recipe.seed)
        cached_records = self.feature_cache.cached_records() if self.feature_cache else None
        samples = TrainingSamples(self.train_data, self.run.model, self.recipe.seed, self.recipe.skip_bad_data, cached_records)
        loader = DataLoader(
            samples,
            batch_size=per_process,
            sampler=sampler,
            num_workers=self.recipe.workers,
            collate_fn=collate_samples,
            pin_memory=self.context.device.type == "cuda",
            generator=torch.Generator(),  # its own: loader seeds must not draw from the global RNG a resume restores
        )
        return sampler, loader

    def restore(self) -> None:
        """Continue from `last/` (whose weights a `resume` Trainer was built with): optimizer, scaler,
        progress (which fixes the learning rate and the time already spent) and RNG, exactly."""
        state = torch.load(self.run_dir / LAST / STATE_FILE, map_location="cpu", weights_only=True)
        self.optimizer.load_state_dict(state["optimizer"])
        self.scaler.load_state_dict(state["scaler"])
        self.progress = TrainingProgress(**state["progress"])
        self.started -= self.progress.elapsed_seconds  # the time limit is the run's, not this process's
        torch.set_rng_state(state["torch_rng"])
        self.log.truncate_after(self.progress.step)

    def fit(self) -> dict[str, Any]:
        """Train to the last epoch or the time limit; return the last validation metrics."""
        start, metrics = self.started, {}
        previous_handlers = {sig: signal.signal(sig, self._request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            while self.progress.epoch < self.recipe.epochs:
                epoch_started, whole_epoch = time.monotonic(), self.progress.batch_in_epoch == 0
                finished = self._train_epoch(start)
                if not finished:  # stopped mid-epoch: keep the position so a resume continues from it
                    metrics = self._validate_and_save()
                    break
                self.progress.epoch, self.progress.batch_in_epoch = self.progress.epoch + 1, 0
                metrics = self._validate_and_save()
                if whole_epoch and self.recipe.time_limit_minutes > 0:
                    self._fit_horizon(start, time.monotonic() - epoch_started)
        finally:
            for sig, handler in previous_handlers.items():
                signal.signal(sig, handler)
        self.log.plot(self.run_dir / CURVE_FILE)
        if self.interrupted:  # saved, but not done: whoever called must not take this for a finished run
            raise TrainingInterrupted(
                f"training stopped by a signal at step {self.progress.step}, checkpointed in {self.run_dir / LAST}; "
                f"continue it with: haris train --resume {self.run_dir}"
            )
        return metrics

    def _train_epoch(self, start: float) -> bool:
        self.model.train()
        self.sampler.set_epoch(self.progress.epoch, self.progress.batch_in_epoch)
        bar = Progress(self.loader, f"epoch {self.progress.epoch + 1}/{self.recipe.epochs}", unit="batch", enabled=self.show_progress)
        losses = []
        for batch in bar:
            if batch is not None:
                losses.append(self._step(batch))
                bar.note(loss=f"{losses[-1]:.4f}")
            self.progress.step += 1
            self.progress.batch_in_epoch += 1
            if self.progress.step % LOG_EVERY_STEPS == 0 and losses:
                self.log.write(
                    step=self.progress.step, epoch=self.progress.epoch, loss=sum(losses) / len(losses), lr=self.optimizer.param_groups[0]["lr"]
                )
                losses = []
            if self._should_stop(start):
                return False
            if self.recipe.checkpoint_every_steps and self.progress.step % self.recipe.checkpoint_every_steps == 0:
                self._save(self.run_dir / LAST)
        return True

    def _fit_horizon(self, start: float, seconds_per_epoch: float) -> None:
        """Refit the schedule to the epochs the time limit leaves room for, from the last epoch's duration."""
        fitted = self._horizon_epochs()
        if horizon_is_settled(self.recipe, self.progress.epoch, fitted):
            return
        seconds_left = self.recipe.time_limit_minutes * 60 - (time.monotonic() - start)
        horizon = fit_horizon_epochs(self.recipe, self.progress.epoch, seconds_left, seconds_per_epoch)
        # Every process takes rank 0's measurement, so their learning rates stay equal.
        self.progress.horizon_epochs = self.context.gather_objects(horizon)[0]
        if self.progress.horizon_epochs < self.recipe.epochs <= fitted:  # said when it falls short of a full schedule, not every refit
            log.info(
                "the time limit leaves room for about %.1f of %d epochs: the learning-rate schedule is compressed to fit",
                self.progress.horizon_epochs,
                self.recipe.epochs,
            )

    def _horizon_epochs(self) -> float:
        return self.progress.horizon_epochs or float(self.recipe.epochs)  # 0 until a time limit fits one

    def _set_learning_rate(self) -> None:
        batches = self.sampler.batches_per_epoch
        epochs_done = self.progress.epoch + (self.progress.batch_in_epoch + 1) / batches
        lr = learning_rate(self.recipe, epochs_done, self._horizon_epochs())
        for group in self.optimizer.param_groups:
            group["lr"] = lr

    def _step(self, batch: dict[str, torch.Tensor]) -> float:
        self._set_learning_rate()
        batch = {key: tensor.to(self.context.device, non_blocking=True) for key, tensor in batch.items()}
        image_input = self.feature_cache.lookup(batch["record_index"], self.context.device) if self.feature_cache else batch["image"]
        with torch.autocast(self.context.device.type, dtype=self.autocast.dtype, enabled=self.autocast.enabled):
            logits = self.parallel_model(image_input, batch["text_tokens"])
        loss = self.criterion(logits.float(), batch["target"])
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        self.scaler.step(self.optimizer)
        self.scaler.update()
        return loss.item()

    def _should_stop(self, start: float) -> bool:
        limit = self.recipe.time_limit_minutes * 60
        timed_out = bool(limit and time.monotonic() - start > limit)
        # Every process must stop at the same step, or the collectives would hang.
        self.interrupted, late = self.context.any_process(self.stop_requested, timed_out)
        return self.interrupted or late

    def _validate_and_save(self) -> dict[str, Any]:
        self.context.average_buffers(self.model)
        self.model.eval()
        result = evaluate(
            self.model,
            self.val_data,
            self.context,
            max_expressions=self.recipe.max_eval_expressions,
            skip_bad=self.recipe.skip_bad_data,
            progress=self.show_progress,
        )
        metrics = result.metrics
        self.log.write(step=self.progress.step, epoch=self.progress.epoch, **{f"val_{k}": v for k, v in _flatten(metrics).items()})
        improved = metrics["mean_iou"] > self.progress.best_mean_iou
        if improved:
            self.progress.best_mean_iou = metrics["mean_iou"]
        self._save(self.run_dir / LAST)
        if improved:
            self._save(self.run_dir / BEST, with_state=False)
        return metrics

    def _save(self, directory: Path, with_state: bool = True) -> None:
        if self.context.is_main:
            extra = {STATE_FILE: self._state_bytes()} if with_state else {}
            save_checkpoint(self.model, directory, extra)
        self.context.barrier()

    def _state_bytes(self) -> bytes:
        self.progress.elapsed_seconds = time.monotonic() - self.started
        buffer = io.BytesIO()
        torch.save(
            {
                "optimizer": self.optimizer.state_dict(),
                "scaler": self.scaler.state_dict(),
                "progress": asdict(self.progress),
                "torch_rng": torch.get_rng_state(),
            },
            buffer,
        )
        return buffer.getvalue()

    def _request_stop(self, signum: int, frame: Any) -> None:
        if self.stop_requested:  # a second Ctrl-C stops at once
            raise KeyboardInterrupt
        self.stop_requested = True


def _flatten(metrics: dict[str, Any]) -> dict[str, Any]:
    flat = {}
    for key, value in metrics.items():
        flat.update(value if isinstance(value, dict) else {key: value})
    return flat
