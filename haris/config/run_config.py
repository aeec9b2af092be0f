"""A preset file: the model and the recipe that trains it."""

from __future__ import annotations

from dataclasses import dataclass, field

from haris.config.model_config import ModelConfig
from haris.config.train_config import TrainConfig


@dataclass(frozen=True)
class RunConfig:
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
