"""The eager PyTorch backend: a HARIS model's own stage methods, the parity reference and the eager baseline.

The one runtime file that imports torch; it is imported lazily, by the factories that build a
Predictor over a model or a checkpoint, so a deployment without torch never loads it. The model is
handed in (the checkpoint is loaded by the factory), so training's validation, `haris eval`, the
parity reference and `Predictor.from_checkpoint` run the same backend.

`precision` "fp32" runs the model as it is (the reference); "bf16" and "fp16" wrap each stage in
`torch.autocast`, as a user who wants eager speed would (casting the model to FP16 instead has no
fast path on a CPU and runs far slower than FP32: docs/measurements.md). Stage outputs then come out
in the autocast dtype; `to_numpy` widens them to float32, as the contract's boundaries are float32.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np
import torch

from haris.runtime.bundle_manifest import GraphSpec, TensorSpec
from haris.runtime.stage_backend import StageBackend
from haris.runtime.stage_clock import HostClock
from haris.runtime.tensor_contract import GRAPHS, STAGE_INPUTS, STAGE_OUTPUTS, TENSOR_RANKS, tensor_dtype

AUTOCAST_DTYPES = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}


class TorchBackend(StageBackend):
    name = "torch"
    thread_safe = True  # inference_mode forward passes share no state

    def __init__(self, model: torch.nn.Module, precision: str = "fp32") -> None:
        """`model`: a Haris (anything with `run_stage` and `config`), on the device it runs on."""
        super().__init__({stage: contract_spec(stage) for stage in GRAPHS})
        if precision not in AUTOCAST_DTYPES:
            raise ValueError(f"the torch backend runs precisions {', '.join(AUTOCAST_DTYPES)}, not {precision!r}")
        self.model = model
        self.config = model.config
        self.device = next(model.parameters()).device
        self.precision = precision

    def _run(self, stage: str, feeds: dict[str, Any]) -> dict[str, Any]:
        inputs = [self._tensor(feeds[name]) for name in STAGE_INPUTS[stage]]
        autocast = AUTOCAST_DTYPES[self.precision]
        if autocast is not None:
            precision = torch.autocast(self.device.type, dtype=autocast)
        else:
            precision = exact_fp32() if self.device.type == "cuda" else contextlib.nullcontext()
        with torch.inference_mode(), precision:
            return dict(zip(STAGE_OUTPUTS[stage], self.model.run_stage(stage, *inputs)))

    def _tensor(self, value: Any) -> torch.Tensor:
        return value if isinstance(value, torch.Tensor) else torch.from_numpy(np.ascontiguousarray(value)).to(self.device)

    def to_numpy(self, value: Any) -> np.ndarray:
        if not isinstance(value, torch.Tensor):
            return np.asarray(value)
        if value.is_floating_point() and value.dtype != torch.float32:
            value = value.float()  # numpy has no bfloat16; the contract's boundaries are float32
        return value.detach().cpu().numpy()

    def nbytes(self, value: Any) -> int:
        return value.numel() * value.element_size() if isinstance(value, torch.Tensor) else int(value.nbytes)

    def rows(self, value: Any, count: int) -> list[Any]:
        if not isinstance(value, torch.Tensor):
            return super().rows(value, count)
        return [value.narrow(0, index, 1) for index in range(count)]

    def concatenate(self, values: Sequence[Any]) -> Any:
        return torch.cat([self._tensor(value) for value in values])

    def clock(self) -> HostClock:
        return TorchEventClock() if self.device.type == "cuda" else HostClock()

    def close(self) -> None:
        """Drop this backend's reference to the model (its memory goes when no one else holds it)."""
        self.model = None


class TorchEventClock(HostClock):
    """Stage times from `torch.cuda.Event`s on torch's current stream (eager torch on a GPU)."""

    kind = "CUDA events (torch)"

    def mark(self) -> Any:
        event = torch.cuda.Event(enable_timing=True)
        event.record()
        return event

    def wait(self, mark: Any) -> None:
        mark.synchronize()

    def seconds(self, start: Any, end: Any) -> float:
        return start.elapsed_time(end) / 1000.0  # milliseconds

    def release(self, marks: Iterable[Any]) -> None:
        """Events are freed with their Python objects."""


@contextlib.contextmanager
def exact_fp32() -> Iterator[None]:
    """TF32 off while a stage runs, and as it was after: FP32 eager must be FP32, the reference and
    the baseline alike, without changing the process's setting for the training around it.

    On Ampere and later GPUs cuDNN convolutions default to TF32 (a 10-bit mantissa), which would
    make the "FP32" reference differ from a CPU's by more than an FP32 graph may differ from it.
    """
    previous = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = previous


def contract_spec(stage: str) -> GraphSpec:
    """The contract's I/O for a stage run eagerly: names, dtypes and ranks (no file behind it)."""

    def specs(names: tuple[str, ...]) -> tuple[TensorSpec, ...]:
        return tuple(TensorSpec(name, tensor_dtype(name), ("?",) * TENSOR_RANKS[name]) for name in names)

    return GraphSpec("(eager)", "", specs(STAGE_INPUTS[stage]), specs(STAGE_OUTPUTS[stage]))
