"""Eager PyTorch as a user would run it instead of a bundle: FP32, or autocast to bf16 / fp16.

The runtime's TorchBackend is the FP32 parity reference. A user who wants eager speed turns on
autocast rather than casting the model (`.half()` has no fast path on a CPU: 105 s against 13.5 s
for SAM ViT-B at 1024, ENVIRONMENT.md), so the baselines here wrap each stage in
`torch.autocast`: bf16 on a CPU with AVX512-BF16 or AMX, fp16 (or bf16) on a GPU. Their stage
outputs then come out in the autocast dtype; `to_numpy` widens them to float32, as the contract's
stage boundaries are float32.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from haris.runtime.predictor import Predictor, PreprocessSettings
from haris.modeling.haris_model import Haris
from haris.runtime.torch_backend import TorchBackend

AUTOCAST_DTYPES = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}


class EagerBackend(TorchBackend):
    """The checkpoint's stage methods, optionally under autocast; with `autocast=None`, TorchBackend."""

    def __init__(self, checkpoint: str | Path, device: str = "cpu", autocast: torch.dtype | None = None) -> None:
        super().__init__(checkpoint, device)
        self.autocast = autocast

    def _run(self, stage: str, feeds: dict[str, Any]) -> dict[str, Any]:
        if self.autocast is None:
            return super()._run(stage, feeds)
        with torch.autocast(self.device.type, dtype=self.autocast):
            return super()._run(stage, feeds)

    def to_numpy(self, value: Any) -> np.ndarray:
        if isinstance(value, torch.Tensor) and value.is_floating_point() and value.dtype != torch.float32:
            value = value.float()  # numpy has no bfloat16; the contract's boundaries are float32
        return super().to_numpy(value)


def eager_predictor(checkpoint: str | Path, device: str = "cpu", precision: str = "fp32", threads: int | None = None) -> Predictor:
    """A Predictor over the checkpoint run eagerly at `precision` (fp32, bf16 or fp16 autocast).

    `threads` sets torch's intra-op threads for the whole process (torch has no per-model setting).
    """
    if threads:
        torch.set_num_threads(threads)
    if precision == "fp32" and device.startswith("cuda"):
        use_exact_fp32_on_gpu()
    backend = EagerBackend(checkpoint, device, AUTOCAST_DTYPES[precision])
    config = backend.config
    settings = PreprocessSettings(config.image_size, tuple(config.preprocess.pixel_mean), tuple(config.preprocess.pixel_std))
    return Predictor(backend, settings, backend.tokenize)


def use_exact_fp32_on_gpu() -> None:
    """Turn TF32 off for the process: FP32 eager must be FP32, the reference and the baseline alike.

    On Ampere and later GPUs cuDNN convolutions default to TF32 (a 10-bit mantissa), which would
    make the "FP32" reference differ from a CPU's by more than an FP32 graph may differ from it.
    """
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False


def encoder_flops(model: Haris) -> int:
    """Floating-point operations of one image through the image encoder (a multiply-add counts 2).

    Counted once, on the eager model, by torch's FLOP counter (matmuls, convolutions and attention);
    elementwise work is not counted, as in every FLOP/s figure quoted for these models.
    """
    from torch.utils.flop_counter import FlopCounterMode

    size = model.config.image_size
    image = torch.zeros(1, 3, size, size, device=next(model.parameters()).device)
    with torch.inference_mode(), FlopCounterMode(display=False) as counter:
        model.encode_image(image)
    return int(counter.get_total_flops())
