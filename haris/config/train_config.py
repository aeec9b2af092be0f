"""The training recipe: defaults are the paper's (Adam, 1e-4, x0.1 at epoch 30 of 50, batch 16)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from haris.errors import ConfigError


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 50
    batch_size: int = 16  # in total, split evenly over the processes
    lr: float = 1e-4
    lr_drop_epochs: tuple[int, ...] = (30,)
    lr_drop_factor: float = 0.1
    lr_schedule: str = "step"  # "step": the drops above; "cosine": to zero over the epochs (haris/train/learning_rate_schedule.py)
    lr_warmup_epochs: float = 0.0  # a linear warm-up over this many epochs (fractions allowed)
    weight_decay: float = 0.0
    focal_weight: float = 1.0
    dice_weight: float = 1.0
    mixed_precision: bool = True  # FP16 autocast with a grad scaler, on a GPU only
    # BF16 autocast when training on a CPU: "auto" turns it on only where the CPU has native BF16
    # (AVX512-BF16, AMX, ARM BF16; haris/cpu_features.py): elsewhere a BF16 matmul is emulated, far slower than FP32.
    cpu_bf16: Literal["auto", True, False] = "auto"
    workers: int = 2  # data-loading processes per training process
    seed: int = 0
    checkpoint_every_steps: int = 0  # 0: a checkpoint at each epoch's end only
    time_limit_minutes: float = 0.0  # 0: none; otherwise stop, checkpointed, once it is reached
    eval_split: str = "val"
    max_eval_expressions: int = 0  # 0: every expression of the split
    skip_bad_data: bool = False
    # Encode every training image once, before the first step, when the image encoder is frozen
    # (haris/train/frozen_feature_cache.py); held in memory, so checked against the limit first.
    cache_frozen_features: bool = False
    feature_cache_max_gb: float = 8.0

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 1 or self.lr <= 0:
            raise ConfigError(f"train.epochs, train.batch_size and train.lr must be positive, got {self.epochs}, {self.batch_size}, {self.lr}")
        if self.lr_schedule not in ("step", "cosine"):
            raise ConfigError(f"train.lr_schedule must be 'step' or 'cosine', got {self.lr_schedule!r}")
        if self.lr_warmup_epochs < 0:
            raise ConfigError(f"train.lr_warmup_epochs must not be negative, got {self.lr_warmup_epochs}")
