"""One serialized TensorRT engine from one ONNX graph: strongly typed, one profile, a timing cache.

What differs between the TensorRT flavours, and what this does about it:
- Typing. TensorRT 10 builds weakly typed networks unless created with the STRONGLY_TYPED flag;
  11 removed weak typing (the flag is deprecated and ignored), and TensorRT-RTX is strongly typed
  only: `create_network(0)`. FP16 therefore comes from the FP16 ONNX graph, never a builder flag.
- Timing cache. TensorRT 10/11 autotune tactics at build time; a timing cache file (loaded if
  present, saved after each build) makes rebuilds fast. It is shared by the stages of one run.
  TensorRT-RTX has no build-time autotuning: its timing cache has no effect, is deprecated since
  1.2, and using it forces a GPU query that breaks CPU-only builds. Its kernels are compiled just
  in time on the GPU and kept in the *runtime* cache (`TensorRTBackend(runtime_cache=...)`).
- Targets. A TensorRT plan runs on the GPU model that built it; a TensorRT-RTX plan compiled
  ahead of time runs on its default compute capabilities (8.0, 8.6, 8.9, 12.0 and later).
Layer details are kept (ProfilingVerbosity.DETAILED) so the engine inspector can read precisions.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

from haris.atomic_file import write_atomically
from haris.errors import ExportError
from haris.export.engine_inspection import network_fp16_share
from haris.export.tensorrt_flavor import tensorrt_major
from haris.runtime.engine_sidecar import RTX_DEFAULT_TARGETS

Shape = tuple[int, ...]
Profile = Mapping[str, tuple[Shape, Shape, Shape]]  # input name -> (min, opt, max)
DEFAULT_WORKSPACE_BYTES = 4 << 30
RTX_TIMING_CACHE_REASON = (
    "TensorRT-RTX has no build-time autotuning: its timing cache has no effect and forces a GPU query; "
    "just-in-time kernels are cached by the runtime cache instead"
)
log = logging.getLogger(__name__)


class EngineBuilder:
    """Builds engines with one TensorRT module; keep one per run so the stages share the timing cache."""

    def __init__(self, trt: ModuleType, flavor: str, workspace_bytes: int = DEFAULT_WORKSPACE_BYTES, timing_cache: Path | None = None) -> None:
        self.trt = trt
        self.flavor = flavor
        self.workspace_bytes = workspace_bytes
        self.timing_cache_path = timing_cache
        self.logger = recording_logger(trt)
        self.builder = trt.Builder(self.logger)
        self._timing_cache = None  # ITimingCache, created on the first build

    def build(self, onnx_path: Path, profile: Profile) -> tuple[bytes, dict[str, Any]]:
        """The serialized plan and the facts the sidecar records about its build."""
        self.logger.errors.clear()
        started = time.perf_counter()  # parse and compile: what a user waits for
        network, parser = self._parse(onnx_path)  # the parser owns the weights: keep it until the plan is built
        config = self._configure(network, profile, onnx_path)
        timing_cache = self._attach_timing_cache(config)
        plan = self.builder.build_serialized_network(network, config)
        seconds = time.perf_counter() - started
        if plan is None:
            raise ExportError(f"TensorRT could not build {onnx_path.name}: {self.logger.summary()}")
        self._save_timing_cache(config)
        facts = {
            "build_seconds": round(seconds, 3),
            "workspace_bytes": self.workspace_bytes,
            "network_layers": network.num_layers,
            "network_fp16_share": network_fp16_share(self.trt, network),
            "timing_cache": timing_cache,
        }
        return bytes(plan), facts

    def _parse(self, onnx_path: Path) -> tuple[Any, Any]:
        network = self.builder.create_network(self._network_flags())
        parser = self.trt.OnnxParser(network, self.logger)
        if not parser.parse_from_file(str(onnx_path)):  # from the file: external weights resolve beside it
            errors = [parser.get_error(index) for index in range(parser.num_errors)]
            raise ExportError(f"TensorRT cannot parse {onnx_path.name}: {describe_parser_errors(errors) or self.logger.summary()}")
        return network, parser

    def _network_flags(self) -> int:
        if self.flavor == "tensorrt" and tensorrt_major(self.trt) == 10:
            return 1 << int(self.trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED)
        return 0  # TensorRT 11 and TensorRT-RTX: strongly typed is the only mode

    def _configure(self, network: Any, profile: Profile, onnx_path: Path) -> Any:
        trt = self.trt
        config = self.builder.create_builder_config()
        config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, self.workspace_bytes)
        config.profiling_verbosity = trt.ProfilingVerbosity.DETAILED
        inputs = [network.get_input(index).name for index in range(network.num_inputs)]
        if sorted(inputs) != sorted(profile):
            raise ExportError(f"{onnx_path.name} has inputs {sorted(inputs)} but the profile covers {sorted(profile)}")
        optimization_profile = self.builder.create_optimization_profile()
        for name in inputs:
            try:
                optimization_profile.set_shape(name, *profile[name])
            except ValueError as error:
                raise ExportError(f"{onnx_path.name}: profile {profile[name]} does not fit input {name}: {error}") from None
        if config.add_optimization_profile(optimization_profile) < 0:
            raise ExportError(f"{onnx_path.name}: TensorRT refused the optimization profile {dict(profile)}: {self.logger.summary()}")
        return config

    def _attach_timing_cache(self, config: Any) -> dict[str, Any]:
        if self.flavor == "tensorrt_rtx":
            return {"used": False, "reason": RTX_TIMING_CACHE_REASON}
        if self.timing_cache_path is None:
            return {"used": False, "reason": "no timing cache file was given"}
        if self._timing_cache is None:
            path = self.timing_cache_path
            self._timing_cache = config.create_timing_cache(path.read_bytes() if path.is_file() else b"")
        if not config.set_timing_cache(self._timing_cache, False):
            # The file came from another GPU or TensorRT: tune afresh and overwrite it.
            log.warning("timing cache %s does not match this GPU or TensorRT; starting a new one", self.timing_cache_path)
            self._timing_cache = config.create_timing_cache(b"")
            config.set_timing_cache(self._timing_cache, False)
        return {"used": True, "file": str(self.timing_cache_path)}

    def _save_timing_cache(self, config: Any) -> None:
        if self._timing_cache is not None and self.timing_cache_path is not None:
            write_atomically(self.timing_cache_path, bytes(config.get_timing_cache().serialize()))

    def build_target(self, gpu: dict[str, str] | None) -> dict[str, Any]:
        """The compute capabilities a plan from this builder runs on (what the runtime checks)."""
        if self.flavor == "tensorrt_rtx":
            return {"ahead_of_time": True, "compute_capabilities": list(RTX_DEFAULT_TARGETS), "and_later": True}
        if gpu is None:
            raise ExportError(
                "TensorRT (the `tensorrt` flavour) builds engines on a CUDA GPU and this machine has none; use tensorrt_rtx to compile ahead of time"
            )
        return {"ahead_of_time": False, "compute_capabilities": [gpu["compute_capability"]], "and_later": False}


def describe_parser_errors(errors: list[Any]) -> str:
    """The first parser error by node (the rest tend to follow from it), and how many there were."""
    if not errors:
        return ""
    first = errors[0]
    where = f"node {first.node()} {first.node_name()!r} ({first.node_operator()})" if first.node() >= 0 else "the model"
    # Without a GPU TensorRT-RTX appends a CUDA "driver insufficient" line to every error: not the cause.
    lines = [line.strip() for line in first.desc().splitlines() if line.strip() and "cudaError 35" not in line]
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{where}: {first.code().name}: {'; '.join(lines)}{more}"


def recording_logger(trt: ModuleType) -> Any:
    """A TensorRT logger that forwards to Python logging and keeps errors for one-line ExportErrors."""

    class RecordingLogger(trt.ILogger):
        def __init__(self) -> None:
            trt.ILogger.__init__(self)
            self.errors: list[str] = []

        def log(self, severity: Any, message: str) -> None:
            if severity in (trt.ILogger.Severity.INTERNAL_ERROR, trt.ILogger.Severity.ERROR):
                self.errors.append(message.strip())
                log.error("TensorRT: %s", message.strip())
            elif severity == trt.ILogger.Severity.WARNING:
                log.warning("TensorRT: %s", message.strip())
            elif severity == trt.ILogger.Severity.INFO:  # its VERBOSE level floods even a debug log
                log.debug("TensorRT: %s", message.strip())

        def summary(self) -> str:
            """The first error that is not TensorRT-RTX's "no GPU driver" note (harmless when compiling ahead of time)."""
            causes = [error for error in self.errors if "cudaError 35" not in error] or self.errors
            return causes[0].splitlines()[0] if causes else "TensorRT logged no error"

    return RecordingLogger()
