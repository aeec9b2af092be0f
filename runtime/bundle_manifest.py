"""The bundle's `manifest.json` as dataclasses: what export writes and every runtime reads.

A bundle needs nothing outside itself: the model config, pre-processing and tokenizer settings,
and per graph its file, sha256 and I/O specs (names, dtypes, shapes with the dynamic axes by name).
TensorRT engines, once built, are listed per precision and stage with their sidecar. A precision
that export refused (one of its graphs failed its check) is listed under `refused` with its graph,
the reason and the command to retry it; the bundle holds none of its graphs.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from haris.errors import BundleError

BUNDLE_FORMAT_VERSION = 1
MANIFEST_FILE = "manifest.json"
PRECISIONS = ("fp32", "fp16", "int8")
DEFAULT_PRECISIONS = ("fp32", "fp16")  # what `haris export` writes unless asked: INT8 needs calibrating


@dataclass(frozen=True)
class TensorSpec:
    name: str
    dtype: str  # numpy name: float32, int32, bool
    shape: tuple[int | str, ...]  # ints, or the name of a dynamic axis (N, B, L)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TensorSpec:
        return cls(data["name"], data["dtype"], tuple(data["shape"]))


@dataclass(frozen=True)
class GraphSpec:
    file: str
    sha256: str
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GraphSpec:
        inputs = tuple(TensorSpec.from_dict(spec) for spec in data["inputs"])
        outputs = tuple(TensorSpec.from_dict(spec) for spec in data["outputs"])
        return cls(data["file"], data["sha256"], inputs, outputs)


@dataclass(frozen=True)
class EngineSpec:
    file: str
    sha256: str
    sidecar: str  # JSON beside the plan: TensorRT flavour/version, GPU, profiles, FP16 share

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EngineSpec:
        return cls(data["file"], data["sha256"], data["sidecar"])


@dataclass(frozen=True)
class BundleManifest:
    haris_version: str
    created: str
    source_checkpoint: dict[str, str]  # path and weights sha256 of the checkpoint exported
    model_config: dict[str, Any]
    image_size: int
    max_words: int
    preprocess: dict[str, Any]  # image_size, pixel_mean, pixel_std, how to resize and pad
    postprocess: dict[str, Any]  # mask_stride, threshold
    tokenizer: dict[str, Any]  # file, sha256, context_length, special token ids
    dynamic_axes: dict[str, tuple[int, int]]  # N, B, L -> (min, max) the graphs were checked at
    exporter: dict[str, Any]
    graphs: dict[str, dict[str, GraphSpec]]  # precision -> graph name -> spec
    checks: dict[str, Any]  # precision -> graph name -> per-output differences and tolerances
    engines: dict[str, dict[str, EngineSpec]] = field(default_factory=dict)  # precision -> stage
    int8: dict[str, Any] = field(default_factory=dict)  # how the INT8 graphs were quantized and calibrated, what stayed float
    refused: dict[str, dict[str, str]] = field(default_factory=dict)  # precision -> graph, reason, retry (a command)
    format_version: int = BUNDLE_FORMAT_VERSION

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        if not self.refused:  # left out when empty: a bundle without refusals stays readable by the haris before the field
            del data["refused"]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BundleManifest:
        version = data.get("format_version")
        if not isinstance(version, int) or version > BUNDLE_FORMAT_VERSION:
            raise BundleError(f"bundle format {version!r} is not one this haris reads (up to {BUNDLE_FORMAT_VERSION})")
        try:
            fields = dict(data)
            fields["graphs"] = _nested(data["graphs"], GraphSpec.from_dict)
            fields["engines"] = _nested(data.get("engines", {}), EngineSpec.from_dict)
            fields["dynamic_axes"] = {axis: tuple(bounds) for axis, bounds in data["dynamic_axes"].items()}
            return cls(**fields)
        except (KeyError, TypeError, ValueError) as error:
            raise BundleError(f"manifest is malformed: {type(error).__name__}: {error}") from None

    def graph(self, name: str, precision: str) -> GraphSpec:
        try:
            return self.graphs[precision][name]
        except KeyError:
            have = ", ".join(f"{p}/{g}" for p, graphs in self.graphs.items() for g in graphs)
            refusal = self.refused.get(precision)
            why = f"; export refused {precision} ({refusal['reason']}): retry with `{refusal['retry']}`" if refusal else ""
            raise BundleError(f"bundle has no {precision} graph {name!r} (it has {have}){why}") from None

    def files(self) -> dict[str, str]:
        """Every file the manifest lists, with its sha256: what verification checks."""
        listed = {self.tokenizer["file"]: self.tokenizer["sha256"]}
        for precision in self.graphs.values():
            listed |= {spec.file: spec.sha256 for spec in precision.values()}
        for precision in self.engines.values():
            listed |= {spec.file: spec.sha256 for spec in precision.values()}
        return listed


def _nested(data: dict[str, dict[str, Any]], parse: Any) -> dict[str, dict[str, Any]]:
    return {outer: {inner: parse(value) for inner, value in items.items()} for outer, items in data.items()}
