"""One interface for every backend, keyed by the contract's tensor names (Polygraphy-style).

A backend runs a stage on named inputs and returns named outputs. Outputs stay where the backend
keeps them (device memory for CUDA and TensorRT, host arrays on the CPU), so the next stage reads
them without a copy; `to_numpy` brings one to the host. Inputs given as numpy arrays are checked
here, once, against the bundle's I/O specs, so every backend fails the same clear way.

What differs between backends is asked of the backend, never decided from its name: where its
outputs' rows can be viewed or joined (`rows`, `concatenate`), which clock times its work
(`clock`), and whether pre- and post-processing run next to it on the device (`device_prepost`).
A backend is a context manager; `close` releases what it holds.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from haris.errors import HarisError
from haris.runtime.bundle_manifest import GraphSpec
from haris.runtime.stage_clock import HostClock
from haris.runtime.tensor_contract import STAGE_INPUTS

if TYPE_CHECKING:
    from haris.runtime.bundle import Bundle
    from haris.runtime.device_prepost import DevicePrepost


class StageBackend(ABC):
    """Runs the four stages of one bundle (or checkpoint).

    Values returned by `run` stay valid until the next `run` of the same stage; `keep` returns a
    copy that lives as long as the caller holds it (the Predictor's image-feature cache uses it).
    `thread_safe` says whether `run` may be called from several threads at once.
    """

    name: str = "backend"
    thread_safe: bool = False

    def __init__(self, specs: Mapping[str, GraphSpec]) -> None:
        self.specs = dict(specs)

    @classmethod
    def open(cls, bundle: Bundle, precision: str, device: str, threads: int | None) -> StageBackend:
        """This backend over a bundle's graphs or engines: how the Predictor factory opens every
        bundle backend of the registry (runtime/backend_registry.py)."""
        raise HarisError(f"the {cls.name} backend does not run bundles")

    def run(self, stage: str, feeds: Mapping[str, Any]) -> dict[str, Any]:
        missing = set(STAGE_INPUTS[stage]) - set(feeds)
        if missing:
            raise HarisError(f"{stage}: missing inputs {sorted(missing)}")
        for spec in self.specs[stage].inputs:
            value = feeds[spec.name]
            if isinstance(value, np.ndarray):
                check_array(stage, spec.name, value, spec.dtype, len(spec.shape))
        return self._run(stage, {name: feeds[name] for name in STAGE_INPUTS[stage]})

    @abstractmethod
    def _run(self, stage: str, feeds: dict[str, Any]) -> dict[str, Any]:
        """Run one stage; `feeds` hold exactly its inputs, numpy ones already checked."""

    @abstractmethod
    def to_numpy(self, value: Any) -> np.ndarray:
        """A host copy of a value this backend returned."""

    def keep(self, value: Any) -> Any:
        """A copy of `value` that outlives the next run (backends that reuse buffers override it)."""
        return value

    def nbytes(self, value: Any) -> int:
        return int(value.nbytes)

    def rows(self, value: Any, count: int) -> list[Any]:
        """The `count` rows of a stage output along its first axis, each with a first axis of 1
        (views where the backend can make them; valid as long as `value` is)."""
        array = self.to_numpy(value)
        return [array[index : index + 1] for index in range(count)]

    def concatenate(self, values: Sequence[Any]) -> Any:
        """Values this backend returned, joined along their first axis, as an input to a stage."""
        return np.concatenate([self.to_numpy(value) for value in values])

    def clock(self) -> HostClock:
        """The clock that measures this backend's stage work where it runs."""
        return HostClock()

    def device_prepost(self, image_size: int, pixel_mean: Sequence[float], pixel_std: Sequence[float]) -> DevicePrepost | None:
        """Pre- and post-processing on the device next to the stages, or None: the host path."""
        return None

    def close(self) -> None:  # noqa: B027 - a no-op for backends that hold nothing to release
        """Release what the backend holds (sessions, device memory); it cannot run after."""

    def __enter__(self) -> StageBackend:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def check_array(stage: str, name: str, value: np.ndarray, dtype: str, rank: int) -> None:
    if value.dtype != np.dtype(dtype):
        raise HarisError(f"{stage}: input {name} must be {dtype}, got {value.dtype}")
    if value.ndim != rank:
        raise HarisError(f"{stage}: input {name} must have {rank} dims, got shape {value.shape}")
