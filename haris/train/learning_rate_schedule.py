"""The learning rate as a pure function of how far training has gone, so a resume needs no scheduler state.

Two shapes: the paper's step drops (x`lr_drop_factor` at each of `lr_drop_epochs`) and a cosine decay to
zero, both over a horizon of `train.epochs` and after an optional linear warm-up. Under a time limit the
horizon is refitted after every epoch to the epochs the limit leaves room for (`fit_horizon_epochs`), and
the schedule is compressed to it: a slow machine still reaches its drops (or the cosine's end) instead of
stopping before them. A step schedule's horizon is settled once its first drop has come, so a later
estimate can never raise the learning rate again.
"""

from __future__ import annotations

import math

from haris.config.train_config import TrainConfig


def learning_rate(recipe: TrainConfig, epochs_done: float, horizon_epochs: float) -> float:
    """The learning rate of the step that brings training to `epochs_done` epochs (steps / steps per epoch).

    A drop at epoch k applies from the first step of epoch k, the step that ends past k (with the
    horizon at `train.epochs`; a shorter horizon moves it proportionally earlier).
    """
    warmup = min(1.0, epochs_done / recipe.lr_warmup_epochs) if recipe.lr_warmup_epochs > 0 else 1.0
    if recipe.lr_schedule == "cosine":
        progress = min(1.0, epochs_done / horizon_epochs)
        return recipe.lr * warmup * 0.5 * (1.0 + math.cos(math.pi * progress))
    drops = sum(1 for milestone in _compressed_milestones(recipe, horizon_epochs) if epochs_done > milestone)
    return recipe.lr * warmup * recipe.lr_drop_factor**drops


def fit_horizon_epochs(recipe: TrainConfig, epochs_done: int, seconds_left: float, seconds_per_epoch: float) -> float:
    """The epochs a time-limited run will reach: the planned ones, or fewer where the limit comes first."""
    if recipe.time_limit_minutes <= 0 or seconds_per_epoch <= 0:
        return float(recipe.epochs)
    return min(float(recipe.epochs), epochs_done + max(0.0, seconds_left) / seconds_per_epoch)


def horizon_is_settled(recipe: TrainConfig, epochs_done: float, horizon_epochs: float) -> bool:
    """Whether refitting the horizon must stop: a step schedule that has dropped keeps its compression."""
    return recipe.lr_schedule == "step" and any(epochs_done >= milestone for milestone in _compressed_milestones(recipe, horizon_epochs))


def _compressed_milestones(recipe: TrainConfig, horizon_epochs: float) -> list[float]:
    """The epochs of the step drops, moved earlier in proportion when the horizon is shorter than planned."""
    compression = horizon_epochs / recipe.epochs
    return [milestone * compression for milestone in recipe.lr_drop_epochs]
