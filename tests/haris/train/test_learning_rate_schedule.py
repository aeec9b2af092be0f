"""The learning rate as a function of progress: step drops, warm-up, cosine, and the time-fitted horizon."""

from __future__ import annotations

import math

import pytest

from haris.config.train_config import TrainConfig
from haris.errors import ConfigError
from haris.train.learning_rate_schedule import fit_horizon_epochs, horizon_is_settled, learning_rate

STEP = TrainConfig(epochs=17, lr=1.0, lr_drop_epochs=(13,), lr_drop_factor=0.1)
COSINE = TrainConfig(epochs=10, lr=2.0, lr_schedule="cosine", lr_warmup_epochs=0.5)


def test_a_step_drop_starts_with_the_first_step_of_its_epoch():
    batches = 360
    assert learning_rate(STEP, 12 + 360 / batches, 17) == 1.0  # the last step of epoch 12 (0-based)
    assert learning_rate(STEP, 13 + 1 / batches, 17) == pytest.approx(0.1)


def test_a_shorter_horizon_moves_the_drops_earlier_in_proportion():
    assert learning_rate(STEP, 6.4, 8.5) == 1.0  # 13 of 17 planned epochs is 6.5 of 8.5
    assert learning_rate(STEP, 6.6, 8.5) == pytest.approx(0.1)


def test_the_warm_up_rises_linearly_then_the_cosine_falls_to_zero_at_the_horizon():
    assert learning_rate(COSINE, 0.125, 10) == pytest.approx(2.0 * 0.25 * 0.5 * (1 + math.cos(math.pi * 0.0125)))
    assert learning_rate(COSINE, 0.5, 10) == pytest.approx(2.0 * 0.5 * (1 + math.cos(math.pi * 0.05)))
    assert learning_rate(COSINE, 5.0, 10) == pytest.approx(1.0)
    assert learning_rate(COSINE, 10.0, 10) == pytest.approx(0.0, abs=1e-12)
    assert learning_rate(COSINE, 6.0, 6.0) == pytest.approx(0.0, abs=1e-12)  # a fitted horizon ends it early
    assert learning_rate(COSINE, 7.0, 6.0) == pytest.approx(0.0, abs=1e-12)  # and it stays there


def test_the_horizon_is_the_planned_epochs_unless_the_time_limit_comes_first():
    assert fit_horizon_epochs(COSINE, 1, 100.0, 10.0) == 10.0  # no time limit
    limited = TrainConfig(epochs=10, lr_schedule="cosine", time_limit_minutes=1.0)
    assert fit_horizon_epochs(limited, 1, 45.0, 10.0) == pytest.approx(5.5)
    assert fit_horizon_epochs(limited, 1, 500.0, 10.0) == 10.0
    assert fit_horizon_epochs(limited, 1, -3.0, 10.0) == 1.0


def test_a_step_schedule_settles_its_horizon_at_its_first_drop_and_a_cosine_never_does():
    assert not horizon_is_settled(STEP, 6.0, 8.5)  # the drop is due at 6.5
    assert horizon_is_settled(STEP, 7.0, 8.5)
    assert not horizon_is_settled(COSINE, 9.0, 10.0)


def test_an_unknown_schedule_or_a_negative_warm_up_is_refused():
    with pytest.raises(ConfigError, match="lr_schedule"):
        TrainConfig(lr_schedule="linear")
    with pytest.raises(ConfigError, match="lr_warmup_epochs"):
        TrainConfig(lr_warmup_epochs=-1)
