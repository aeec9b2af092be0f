"""One TensorRT engine ready to run: its execution context and device buffers on one stream.

Buffers are allocated once, at the optimization profile's maximum shapes, and reused by every
run: outputs are returned as views of them at the run's actual shapes, so they stay valid until
the next run of the same engine (StageBackend's contract). Inputs given as numpy arrays are copied
into per-input staging buffers; inputs that are already DeviceTensors (a previous stage's
outputs, or kept image features) are bound in place, without a copy.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np

from haris.errors import HarisError
from haris.runtime import cuda_memory
from haris.runtime.device_tensor import DeviceTensor

PROFILE = 0  # bundle engines have one optimization profile


class EngineRunner:
    def __init__(self, trt: ModuleType, engine: Any, stage: str, stream: Any, runtime_config: Any = None) -> None:
        self.stage = stage
        self.engine = engine
        self.stream = stream
        self.runtime_config = runtime_config  # kept alive as long as the context built from it
        if runtime_config is None:
            self.context = engine.create_execution_context()
        else:
            self.context = engine.create_execution_context(runtime_config=runtime_config)
        if self.context is None:
            raise HarisError(f"{stage}: TensorRT could not create an execution context (out of GPU memory?)")
        names = [engine.get_tensor_name(index) for index in range(engine.num_io_tensors)]
        self.input_names = [name for name in names if engine.get_tensor_mode(name) == trt.TensorIOMode.INPUT]
        self.output_names = [name for name in names if name not in self.input_names]
        self.dtypes = {name: np.dtype(trt.nptype(engine.get_tensor_dtype(name))) for name in names}
        self.profile = {name: tuple(tuple(dims) for dims in engine.get_tensor_profile_shape(name, PROFILE)) for name in self.input_names}
        self.staging = {name: DeviceTensor.allocate(self.profile[name][2], self.dtypes[name]) for name in self.input_names}
        self.outputs = self._allocate_outputs()

    def _allocate_outputs(self) -> dict[str, DeviceTensor]:
        """Output buffers sized for the largest inputs the profile admits; bound once, here."""
        for name in self.input_names:
            self._set_shape(name, self.profile[name][2])
        outputs = {}
        for name in self.output_names:
            shape = tuple(self.context.get_tensor_shape(name))
            if min(shape, default=0) < 0:
                raise HarisError(f"{self.stage}: output {name} has a data-dependent shape {shape}; the runtime needs shapes known from the inputs")
            outputs[name] = DeviceTensor.allocate(shape, self.dtypes[name])
            self._bind(name, outputs[name].pointer)
        return outputs

    def run(self, feeds: dict[str, Any]) -> dict[str, DeviceTensor]:
        """Enqueue one run; returns device views of the outputs (valid until the next run)."""
        for name in self.input_names:
            tensor = self._device_input(name, feeds[name])
            self._set_shape(name, tensor.shape)
            self._bind(name, tensor.pointer)
        if not self.context.execute_async_v3(cuda_memory.stream_handle(self.stream)):
            raise HarisError(f"{self.stage}: TensorRT could not enqueue the engine (see TensorRT's log above)")
        return {name: self.outputs[name].view(tuple(self.context.get_tensor_shape(name))) for name in self.output_names}

    def _device_input(self, name: str, value: Any) -> DeviceTensor:
        shape = tuple(value.shape)
        self._check_shape(name, shape)
        if isinstance(value, DeviceTensor):
            if value.dtype != self.dtypes[name]:
                raise HarisError(f"{self.stage}: input {name} must be {self.dtypes[name]}, got a device tensor of {value.dtype}")
            return value
        if isinstance(value, np.ndarray):
            return self.staging[name].copy_from_host(value, self.stream)
        raise HarisError(f"{self.stage}: input {name} must be a numpy array or a DeviceTensor, got {type(value).__name__}")

    def _check_shape(self, name: str, shape: tuple[int, ...]) -> None:
        low, _, high = self.profile[name]
        if len(shape) != len(low) or any(not lo <= dim <= hi for dim, lo, hi in zip(shape, low, high)):
            ranges = ", ".join(str(lo) if lo == hi else f"{lo}..{hi}" for lo, hi in zip(low, high))
            raise HarisError(
                f"{self.stage}: input {name} has shape {shape}; this engine takes ({ranges}): "
                "rebuild the engines with larger limits (`haris build --max-batch/--max-expressions`)"
            )

    def _set_shape(self, name: str, shape: tuple[int, ...]) -> None:
        if not self.context.set_input_shape(name, shape):
            raise HarisError(f"{self.stage}: TensorRT refused shape {shape} for input {name}")

    def _bind(self, name: str, pointer: int) -> None:
        if not self.context.set_tensor_address(name, pointer):
            raise HarisError(f"{self.stage}: TensorRT refused the device address of {name}")

    def release(self) -> None:
        """Free the buffers now (views handed out keep nothing alive after this)."""
        for tensor in (*self.staging.values(), *self.outputs.values()):
            tensor.release()
