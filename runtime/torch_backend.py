"""The eager PyTorch backend: the checkpoint's own stage methods, the parity reference.

The only runtime file that imports torch (and the model); it is imported lazily, by
`Predictor.from_checkpoint`, so a deployment without torch never loads it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from haris.checkpoint.checkpoint_io import load_checkpoint, resolve_checkpoint
from haris.data.text_tokenizer import TextTokenizer
from haris.runtime.bundle_manifest import GraphSpec, TensorSpec
from haris.runtime.stage_backend import StageBackend
from haris.runtime.tensor_contract import GRAPHS, STAGE_INPUTS, STAGE_OUTPUTS, TENSOR_RANKS, tensor_dtype


class TorchBackend(StageBackend):
    name = "torch"
    thread_safe = True  # inference_mode forward passes share no state

    def __init__(self, checkpoint: str | Path, device: str = "cpu") -> None:
        super().__init__({stage: contract_spec(stage) for stage in GRAPHS})
        self.checkpoint = resolve_checkpoint(checkpoint)
        self.device = torch.device(device)
        self.model = load_checkpoint(self.checkpoint, self.device)
        self.config = self.model.config
        self.tokenizer = TextTokenizer(self.config)

    def tokenize(self, texts: list[str]) -> np.ndarray:
        """open_clip's ids, cut to the batch's longest expression as the bundle tokenizer cuts them."""
        return self.tokenizer.to_longest(texts).numpy()

    @torch.inference_mode()
    def _run(self, stage: str, feeds: dict[str, Any]) -> dict[str, Any]:
        inputs = [self._tensor(feeds[name]) for name in STAGE_INPUTS[stage]]
        return dict(zip(STAGE_OUTPUTS[stage], self.model.run_stage(stage, *inputs)))

    def _tensor(self, value: Any) -> torch.Tensor:
        return value if isinstance(value, torch.Tensor) else torch.from_numpy(np.ascontiguousarray(value)).to(self.device)

    def to_numpy(self, value: Any) -> np.ndarray:
        return value.detach().cpu().numpy() if isinstance(value, torch.Tensor) else np.asarray(value)

    def nbytes(self, value: Any) -> int:
        return value.numel() * value.element_size() if isinstance(value, torch.Tensor) else int(value.nbytes)


def contract_spec(stage: str) -> GraphSpec:
    """The contract's I/O for a stage run eagerly: names, dtypes and ranks (no file behind it)."""
    def specs(names: tuple[str, ...]) -> tuple[TensorSpec, ...]:
        return tuple(TensorSpec(name, tensor_dtype(name), ("?",) * TENSOR_RANKS[name]) for name in names)

    return GraphSpec("(eager)", "", specs(STAGE_INPUTS[stage]), specs(STAGE_OUTPUTS[stage]))
