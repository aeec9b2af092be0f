"""How much work `haris demo` does: the default fits 15 minutes on a 2-core CPU; quick is for CI."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DemoSettings:
    images: int = 2000  # synthetic scenes (80% train), the dataset `haris data synth` writes by default
    train_minutes: float = 10.0  # the tiny preset's own budget (then validated and checkpointed)
    eval_expressions: int = 400  # of the val split, for `haris eval` and the parity bench
    overlays: int = 4  # best and worst eval cases, and bundle predictions on demo scenes
    speed_iterations: int = 10
    expressions_per_image: tuple[int, ...] = (1, 4, 16)
    threads: int = 2

    @classmethod
    def quick(cls) -> DemoSettings:
        """Every step, on a few images for a few seconds: what CI runs end to end."""
        return cls(images=16, train_minutes=0.1, eval_expressions=12, overlays=1, speed_iterations=2, expressions_per_image=(1, 4))
