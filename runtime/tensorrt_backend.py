"""The TensorRT backend: the bundle's four stage engines on one CUDA stream, tensors kept on the device.

Before anything is deserialized, each engine's sidecar is checked against the installed TensorRT
(flavour and version) and this machine's GPU (name, compute capability), so a plan built elsewhere
is refused with one line naming both sides instead of crashing inside TensorRT. TensorRT is
imported here, on construction, in the flavour the engines were built with (`tensorrt` or
`tensorrt_rtx`); importing this module imports neither, nor torch.

TensorRT-RTX compiles kernels just in time on the GPU; its runtime cache keeps them between runs
(`runtime_cache=path`: loaded if present and compatible, saved by `close`). Full TensorRT
chooses its kernels at build time and has no runtime cache.
"""

from __future__ import annotations

import hashlib
import importlib
from pathlib import Path
from types import ModuleType
from typing import Any

from haris.atomic_file import write_atomically
from haris.errors import BundleError, HarisError
from haris.runtime import cuda_memory
from haris.runtime.bundle import Bundle
from haris.runtime.bundle_manifest import EngineSpec
from haris.runtime.cache_folder import cache_folder
from haris.runtime.cuda_stream_backend import CudaStreamBackend
from haris.runtime.engine_runner import EngineRunner
from haris.runtime.engine_sidecar import TENSORRT_PIP_PACKAGES, check_engine_compatibility, read_sidecar
from haris.runtime.tensor_contract import STAGE_INPUTS, STAGE_OUTPUTS, STAGES


class TensorRTBackend(CudaStreamBackend):
    name = "tensorrt"
    # One stream, one execution context per stage and output buffers reused by every run: two
    # threads would overwrite each other's shapes and outputs. The Predictor serializes calls.
    thread_safe = False

    def __init__(self, bundle: Bundle, precision: str = "fp16", device: int = 0, runtime_cache: str | Path | None = None) -> None:
        super().__init__({stage: bundle.graph_spec(stage, precision) for stage in STAGES})
        engines = engine_specs(bundle, precision)
        sidecars = {stage: read_sidecar(bundle.directory, spec) for stage, spec in engines.items()}
        self.trt = import_engine_flavor(sidecars)
        gpu = cuda_memory.gpu_properties(device)
        for sidecar in sidecars.values():
            check_engine_compatibility(sidecar, self.trt.__version__, gpu)
        cuda_memory.select_device(device)
        self.gpu = gpu
        self.stream = cuda_memory.create_stream()
        self.logger = self.trt.Logger(self.trt.Logger.WARNING)  # must outlive the runtime and engines
        self.runtime = self.trt.Runtime(self.logger)
        loaded = {stage: self._deserialize(bundle.verify_file(spec.file), stage) for stage, spec in engines.items()}
        self.runtime_cache_path = Path(runtime_cache) if runtime_cache else None
        self.runtime_cache = self._load_runtime_cache(next(iter(loaded.values())))
        self.runners = {stage: self._runner(engine, stage) for stage, engine in loaded.items()}

    @classmethod
    def open(cls, bundle: Bundle, precision: str, device: str, threads: int | None) -> TensorRTBackend:
        """`threads` is not TensorRT's to use (the host pre- and post-processing take it). TensorRT-RTX
        keeps the kernels it compiles on this GPU in the user's cache (runtime/cache_folder.py), one
        file per set of engines."""
        kind, _, index = device.partition(":")
        if kind != "cuda":
            raise HarisError(f"the tensorrt backend runs on device 'cuda[:N]', got {device!r}")
        engines = engine_specs(bundle, precision)
        key = hashlib.sha256("".join(engines[stage].sha256 for stage in STAGES).encode()).hexdigest()[:16]
        return cls(bundle, precision, int(index or 0), runtime_cache=cache_folder("tensorrt_rtx") / f"{key}.cache")

    def _deserialize(self, path: Path, stage: str) -> Any:
        plan = path.read_bytes()
        if hasattr(self.runtime, "get_engine_validity"):  # TensorRT-RTX reads the plan header first
            validity, diagnostics = self.runtime.get_engine_validity(plan)
            if validity == self.trt.EngineValidity.INVALID:
                raise BundleError(
                    f"TensorRT-RTX says engine {path} is invalid on this machine (diagnostics {diagnostics:#x}); rebuild with `haris build`"
                )
        engine = self.runtime.deserialize_cuda_engine(plan)
        if engine is None:
            raise BundleError(f"TensorRT could not deserialize engine {path} (see TensorRT's log above); rebuild with `haris build`")
        names = {engine.get_tensor_name(index) for index in range(engine.num_io_tensors)}
        if names != {*STAGE_INPUTS[stage], *STAGE_OUTPUTS[stage]}:
            raise BundleError(f"engine {path} has tensors {sorted(names)}, not the {stage} stage's")
        return engine

    def _load_runtime_cache(self, engine: Any) -> Any:
        """One TensorRT-RTX runtime cache shared by the four engines, or None."""
        if self.runtime_cache_path is None or not hasattr(engine, "create_runtime_config"):
            return None
        config = engine.create_runtime_config()
        if not hasattr(config, "create_runtime_cache"):  # full TensorRT: kernels are fixed at build time
            return None
        cache = config.create_runtime_cache()
        if self.runtime_cache_path.is_file():
            # False means the cache is from another GPU, driver or TensorRT-RTX: start afresh.
            cache.deserialize(self.runtime_cache_path.read_bytes())
        return cache

    def _runner(self, engine: Any, stage: str) -> EngineRunner:
        if self.runtime_cache is None:
            return EngineRunner(self.trt, engine, stage, self.stream)
        config = engine.create_runtime_config()
        config.set_runtime_cache(self.runtime_cache)
        return EngineRunner(self.trt, engine, stage, self.stream, runtime_config=config)

    def _run(self, stage: str, feeds: dict[str, Any]) -> dict[str, Any]:
        return self.runners[stage].run(feeds)

    def close(self) -> None:
        """Save the runtime cache, free the buffers and the stream. The backend is unusable after."""
        if self.stream is None:
            return
        cuda_memory.synchronize(self.stream)
        if self.runtime_cache is not None and self.runtime_cache_path is not None:
            write_atomically(self.runtime_cache_path, bytes(self.runtime_cache.serialize()))
        for runner in self.runners.values():
            runner.release()
        self.runners = {}
        cuda_memory.destroy_stream(self.stream)
        self.stream = None


def engine_specs(bundle: Bundle, precision: str) -> dict[str, EngineSpec]:
    built = bundle.manifest.engines.get(precision, {})
    missing = [stage for stage in STAGES if stage not in built]
    if missing:
        raise BundleError(f"bundle {bundle.directory} has no {precision} TensorRT engines for {', '.join(missing)}; build them with `haris build`")
    return {stage: built[stage] for stage in STAGES}


def import_engine_flavor(sidecars: dict[str, dict[str, Any]]) -> ModuleType:
    """The TensorRT module the engines were built with (all four must agree)."""
    flavors = {sidecar["tensorrt"]["flavor"] for sidecar in sidecars.values()}
    if len(flavors) != 1 or not flavors <= set(TENSORRT_PIP_PACKAGES):
        raise BundleError(f"the bundle's engines name TensorRT flavours {sorted(flavors)}; expected one of {sorted(TENSORRT_PIP_PACKAGES)}")
    (flavor,) = flavors
    try:
        return importlib.import_module(flavor)
    except ImportError as error:
        package = TENSORRT_PIP_PACKAGES[flavor]
        raise BundleError(f"the engines were built with {flavor}, which does not import here ({error}); `pip install {package}`") from None
