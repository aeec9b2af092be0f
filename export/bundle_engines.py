"""TensorRT engines for a bundle: a plan and a sidecar per stage, listed in the manifest.

`build_bundle_engines(bundle_dir)` builds `engines/<stage>.<precision>.plan` for the four stages of
the tensor contract, each with its JSON sidecar (haris.runtime.engine_sidecar), and lists them in
`manifest.json`. The end-to-end graph gets no engine: the runtime never runs it (the Predictor
caches image features between stages), and under full TensorRT it would autotune the image
encoder a second time, the longest build of all.

Profiles (min, opt, max) per dynamic axis, all within the ranges the graphs were checked at
(manifest.dynamic_axes):
- image_encoder N: 1, 1, max_images (one image at a time is the Predictor's common case);
- B: 1, min(4, max_expressions), max_expressions; L: 1, max_words, max_words;
- fusion's image features N: 1, 1, max_expressions (N is 1, broadcast inside the graph, or B).

The bundle is never left inconsistent: its engines of that precision are unlisted before any file
is replaced, every file is written to a temporary name and renamed, and the manifest lists the new
engines once all four are built.
"""

from __future__ import annotations

import dataclasses
import hashlib
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from haris.atomic_file import write_atomically, write_json_atomically
from haris.errors import ExportError
from haris.export.engine_builder import DEFAULT_WORKSPACE_BYTES, EngineBuilder, Profile
from haris.export.engine_inspection import engine_precisions, require_fp16
from haris.export.tensorrt_flavor import import_tensorrt
from haris.progress import Progress
from haris.runtime.bundle import Bundle
from haris.runtime.bundle_manifest import MANIFEST_FILE, EngineSpec, GraphSpec
from haris.runtime.cuda_memory import gpu_properties
from haris.runtime.engine_sidecar import ENGINES_DIR, SIDECAR_FORMAT, plan_file, sidecar_file
from haris.runtime.tensor_contract import STAGES

DEFAULT_TIMING_CACHE = f"{ENGINES_DIR}/timing.cache"  # beside the plans: both belong to one GPU
OPT_EXPRESSIONS = 4  # a typical predict() call: a few expressions about one image


def build_bundle_engines(
    bundle_dir: str | Path,
    precision: str = "fp16",
    max_images: int | None = None,
    max_expressions: int | None = None,
    timing_cache: str | Path | None = None,
    flavor: str = "auto",
    progress: bool = True,
    workspace_bytes: int = DEFAULT_WORKSPACE_BYTES,
) -> list[Path]:
    """Build and list the four stage engines; returns the plan paths.

    max_images (images) and max_expressions default to the largest N and B of manifest.dynamic_axes.
    timing_cache defaults to engines/timing.cache in the bundle (full TensorRT only; see
    EngineBuilder for why TensorRT-RTX uses none). Raises BundleError for an altered bundle,
    ExportError when TensorRT is missing or a graph does not parse or build.
    """
    bundle = Bundle.open(bundle_dir)
    require_precision(bundle, precision)
    limits = engine_limits(bundle, max_images, max_expressions)
    trt, flavor_name = import_tensorrt(flavor)
    cache = Path(timing_cache) if timing_cache else bundle.directory / DEFAULT_TIMING_CACHE
    builder = EngineBuilder(trt, flavor_name, workspace_bytes, cache)
    gpu = gpu_properties()
    target = builder.build_target(gpu)
    list_engines(bundle, precision, None)
    specs = {}
    for stage in Progress(STAGES, f"{flavor_name} {precision} engines", unit="engine", enabled=progress):
        profile = stage_profile(stage, bundle.graph_spec(stage, precision), limits)
        specs[stage] = build_stage_engine(bundle, builder, stage, precision, profile, gpu, target)
    list_engines(bundle, precision, specs)
    return [bundle.directory / spec.file for spec in specs.values()]


def require_precision(bundle: Bundle, precision: str) -> None:
    if precision not in bundle.precisions:
        raise ExportError(f"bundle {bundle.directory} has no {precision} graphs (it has {', '.join(bundle.precisions)})")


def engine_limits(bundle: Bundle, max_images: int | None, max_expressions: int | None) -> dict[str, int]:
    """The largest N, B and L the engines take, checked against the ranges the graphs were checked at."""
    axes = bundle.manifest.dynamic_axes
    limits = {"N": max_images or axes["N"][1], "B": max_expressions or axes["B"][1], "L": bundle.manifest.max_words}
    names = {"N": "max_images", "B": "max_expressions", "L": "max_words"}
    for axis, value in limits.items():
        low, high = axes[axis]
        if not max(low, 1) <= value <= high:
            raise ExportError(
                f"{names[axis]} = {value} is outside {max(low, 1)}..{high}, the {axis} range the bundle's graphs were exported and checked for"
            )
    return limits


def axis_range(stage: str, axis: str, limits: dict[str, int]) -> tuple[int, int, int]:
    """(min, opt, max) of one dynamic axis of one stage's inputs."""
    if axis == "N" and stage == "fusion":
        return 1, 1, limits["B"]  # one image broadcast to every expression, or one image per expression
    if axis == "N":
        return 1, 1, limits["N"]
    if axis == "B":
        return 1, min(OPT_EXPRESSIONS, limits["B"]), limits["B"]
    if axis == "L":
        return 1, limits["L"], limits["L"]
    raise ExportError(f"the {stage} graph has a dynamic axis {axis!r}; the contract's are N, B and L")


def stage_profile(stage: str, graph: GraphSpec, limits: dict[str, int]) -> Profile:
    """The optimization profile of one stage: min, opt and max shape per input."""
    profile = {}
    for tensor in graph.inputs:
        ranges = [axis_range(stage, dim, limits) if isinstance(dim, str) else (dim, dim, dim) for dim in tensor.shape]
        profile[tensor.name] = tuple(tuple(bounds[corner] for bounds in ranges) for corner in range(3))
    return profile


def build_stage_engine(
    bundle: Bundle, builder: EngineBuilder, stage: str, precision: str, profile: Profile, gpu: dict[str, str] | None, target: dict[str, Any]
) -> EngineSpec:
    """Build one plan, write it and its sidecar (each atomically), return its manifest entry."""
    graph = bundle.graph_spec(stage, precision)
    plan, facts = builder.build(bundle.graph_path(stage, precision), profile)
    facts |= engine_precisions(builder.trt, plan, gpu)
    require_fp16(stage, precision, facts)
    spec = EngineSpec(plan_file(stage, precision), hashlib.sha256(plan).hexdigest(), sidecar_file(stage, precision))
    write_atomically(bundle.directory / spec.file, plan)
    sidecar = {
        "format": SIDECAR_FORMAT,
        "stage": stage,
        "precision": precision,
        "plan": spec.file,
        "plan_sha256": spec.sha256,
        "source_graph": {"file": graph.file, "sha256": graph.sha256},
        "tensorrt": {"flavor": builder.flavor, "version": builder.trt.__version__},
        "gpu": gpu,
        "target": target,
        "profiles": [{name: dict(zip(("min", "opt", "max"), map(list, shapes))) for name, shapes in profile.items()}],
        "built": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        **facts,
    }
    write_json_atomically(bundle.directory / spec.sidecar, sidecar)
    return spec


def list_engines(bundle: Bundle, precision: str, specs: dict[str, EngineSpec] | None) -> None:
    """Rewrite manifest.json (atomically) with `specs` as the engines of `precision`; None unlists them."""
    engines = {key: value for key, value in bundle.manifest.engines.items() if key != precision}
    if specs is not None:
        engines[precision] = specs
    if engines == bundle.manifest.engines:
        return
    bundle.manifest = dataclasses.replace(bundle.manifest, engines=engines)
    write_json_atomically(bundle.directory / MANIFEST_FILE, bundle.manifest.to_dict())
