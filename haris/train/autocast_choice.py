"""Which autocast a training step runs under, resolved once per process from the device and the CPU.

On a GPU: FP16 with a grad scaler when `train.mixed_precision` (the paper's setting). On a CPU:
BF16 when `train.cpu_bf16` is true, or when it is "auto" (the default) and the CPU runs BF16
natively. "auto" never turns it on from a CPU name: only the hardware's own flags decide
(haris/cpu_features.py), because the same preset trains on CPUs where BF16 is several times faster
than FP32 and on CPUs where it is far slower (docs/measurements.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from haris.config.train_config import TrainConfig
from haris.cpu_features import CpuFeatures, cpu_features


@dataclass(frozen=True)
class AutocastChoice:
    enabled: bool
    dtype: torch.dtype
    grad_scaler: bool  # FP16 needs loss scaling; BF16 has FP32's exponent range and does not
    reason: str  # one line for the log and run.json

    def record(self) -> dict[str, object]:
        """What run.json keeps of the choice."""
        return {"autocast": str(self.dtype).removeprefix("torch.") if self.enabled else "off", "reason": self.reason}


def choose_autocast(recipe: TrainConfig, device: torch.device, cpu: CpuFeatures | None = None) -> AutocastChoice:
    if device.type == "cuda":
        state = "on" if recipe.mixed_precision else "off (train.mixed_precision=false)"
        return AutocastChoice(recipe.mixed_precision, torch.float16, recipe.mixed_precision, f"FP16 autocast on the GPU: {state}")
    if recipe.cpu_bf16 != "auto":
        state = "on" if recipe.cpu_bf16 else "off"
        return AutocastChoice(
            bool(recipe.cpu_bf16), torch.bfloat16, False, f"BF16 autocast on the CPU: {state} (train.cpu_bf16={str(recipe.cpu_bf16).lower()})"
        )
    cpu = cpu or cpu_features()
    verdict = "on: it runs BF16 natively" if cpu.native_bf16 else "off: it has no native BF16, where FP32 is the faster"
    return AutocastChoice(cpu.native_bf16, torch.bfloat16, False, f"BF16 autocast on the CPU: {verdict} (train.cpu_bf16=auto; {cpu.summary()})")
