"""The export wrapper (segment-anything keeps its ONNX wrapper outside the model, and so do we).

`StageAdapter(model, stage)` is an nn.Module whose forward takes the stage's contract inputs
positionally and returns its outputs as a tuple, calling only the model's public stage methods.
"""

from __future__ import annotations

import torch
from torch import nn

from haris.modeling.haris_model import Haris
from haris.runtime.tensor_contract import GRAPHS


class StageAdapter(nn.Module):
    def __init__(self, model: Haris, stage: str) -> None:
        super().__init__()
        if stage not in GRAPHS:
            raise ValueError(f"unknown stage {stage!r}; stages are {', '.join(GRAPHS)}")
        self.model = model
        self.stage = stage

    def forward(self, *inputs: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return self.model.run_stage(self.stage, *inputs)
