"""`haris export`: a checkpoint in, a checked bundle out (DESIGN.md, The bundle).

Every stage graph is traced and simplified, and the end-to-end graph is composed from them. Each is
checked against its eager stage in onnxruntime (random and demo inputs, all text lengths, N = 1 and
N = B) and, for FP16, checked to keep its FP32 islands, before anything is written. The bundle is
assembled in a staging folder and renamed into place, so an interrupted or failed export leaves no
half-written bundle.

With `add`, the precisions asked for are added to an existing bundle of the same checkpoint: its
FP32 graphs are converted or quantized as they are (no second trace), checked the same way, and
the bundle is replaced by a copy that has them too.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import os
import platform
import shutil
from pathlib import Path

import onnx
import onnxruntime
import onnxslim
import torch
from tqdm import tqdm

from haris import __version__
from haris.checkpoint.atomic_directory import atomic_directory
from haris.checkpoint.checkpoint_io import load_checkpoint, read_checkpoint_meta
from haris.config.config_io import config_to_dict
from haris.errors import ExportError
from haris.export.check_samples import check_samples
from haris.export.end_to_end_graph import compose_end_to_end
from haris.export.fp16_conversion import convert_to_fp16, float32_island_violations
from haris.export.graph_check import check_graph, check_summary, eager_outputs
from haris.export.int8_calibration import Int8Calibration, Int8Request
from haris.export.model_resizing import model_at_image_size
from haris.export.onnx_graph_export import OPSET, export_stage_graph, save_model
from haris.export.stage_adapter import StageAdapter
from haris.export.tensorrt_compat import check_tensorrt_compatibility
from haris.export.tokenizer_export import write_tokenizer_json
from haris.file_digest import file_sha256
from haris.modeling.haris_model import Haris
from haris.runtime.bundle import Bundle
from haris.runtime.bundle_manifest import DEFAULT_PRECISIONS, MANIFEST_FILE, PRECISIONS, BundleManifest, GraphSpec, TensorSpec
from haris.runtime.tensor_contract import END_TO_END, GRAPHS, STAGES, tensor_dtype

ONNX_DTYPES = {onnx.TensorProto.FLOAT: "float32", onnx.TensorProto.INT32: "int32", onnx.TensorProto.BOOL: "bool"}


def export_bundle(
    checkpoint: str | Path,
    out: str | Path,
    precisions: tuple[str, ...] = DEFAULT_PRECISIONS,
    image_size: int | None = None,
    max_images: int = 16,
    max_expressions: int = 64,
    overwrite: bool = False,
    progress: bool = True,
    int8: Int8Request | None = None,
    add: bool = False,
) -> Path:
    """Export every graph of the checkpoint at `precisions` into the bundle directory `out`; INT8
    graphs are calibrated as `int8` asks (default: synthetic scenes). With `add`, `out` is a bundle
    of this checkpoint and the precisions are made from its FP32 graphs and added to it."""
    out = Path(out)
    unknown = set(precisions) - set(PRECISIONS)
    if unknown or not precisions:
        raise ExportError(f"precisions must be some of {', '.join(PRECISIONS)}, got {', '.join(precisions) or 'none'}")
    base = _bundle_to_extend(out, checkpoint, precisions, overwrite) if add else None
    if base is None and out.exists() and not overwrite:
        raise ExportError(f"{out} exists; pass --overwrite to replace it (or --add to add precisions to it)")
    if base is not None and image_size not in (None, base.manifest.image_size):
        raise ExportError(f"{out} was exported at image size {base.manifest.image_size}; --image-size {image_size} cannot be added to it")
    model = model_at_image_size(load_checkpoint(checkpoint), base.manifest.image_size if base else image_size)
    axes = dict(base.manifest.dynamic_axes) if base else {"N": (1, max_images), "B": (1, max_expressions), "L": (1, model.config.max_words)}
    calibration = Int8Calibration.prepare(model, int8 or Int8Request()) if "int8" in precisions else None
    with atomic_directory(out) as staging:
        if base is None:
            tokenizer = write_tokenizer_json(model.config, staging / "tokenizer.json")
            tokenizer["sha256"] = file_sha256(staging / "tokenizer.json")
            graphs, checks = _export_graphs(model, staging, precisions, axes, progress, calibration)
            manifest = _manifest(model, checkpoint, tokenizer, axes, graphs, checks, calibration.record() if calibration else {})
        else:
            _link_files(base, staging, keep=set(base.manifest.graphs) - set(precisions))
            stages = {name: onnx.load(str(base.graph_path(name, "fp32"))) for name in STAGES}
            graphs, checks = _export_graphs(model, staging, precisions, axes, progress, calibration, stages)
            manifest = _extended_manifest(base.manifest, graphs, checks, calibration.record() if calibration else None)
        (staging / MANIFEST_FILE).write_text(json.dumps(manifest.to_dict(), indent=2) + "\n", encoding="utf-8")
    return out


def _bundle_to_extend(out: Path, checkpoint: str | Path, precisions: tuple[str, ...], overwrite: bool) -> Bundle:
    """The bundle at `out`, checked to be whole, of this checkpoint, with FP32 graphs to start from."""
    base = Bundle.open(out)
    exported = base.manifest.source_checkpoint["weights_sha256"]
    if exported != read_checkpoint_meta(checkpoint)["weights_sha256"]:
        raise ExportError(f"{out} was exported from other weights (sha256 {exported[:12]}...) than {checkpoint}: export it again instead")
    if "fp32" in precisions or "fp32" not in base.manifest.graphs:
        raise ExportError(f"--add makes precisions from the bundle's FP32 graphs: ask for fp16 or int8 (it has {', '.join(base.manifest.graphs)})")
    present = set(precisions) & set(base.manifest.graphs)
    if present and not overwrite:
        raise ExportError(f"{out} has {', '.join(sorted(present))} graphs already; pass --overwrite to replace them")
    return base


def _link_files(base: Bundle, staging: Path, keep: set[str]) -> None:
    """Hard-link (or copy) into `staging` the tokenizer, the graphs of the `keep` precisions and their engines and sidecars."""
    manifest = base.manifest
    names = [manifest.tokenizer["file"], *(spec.file for precision in keep for spec in manifest.graphs[precision].values())]
    for precision in keep & set(manifest.engines):
        names += [name for spec in manifest.engines[precision].values() for name in (spec.file, spec.sidecar)]
    for name in names:
        (staging / name).parent.mkdir(parents=True, exist_ok=True)  # engines/ holds the plans
        try:
            os.link(base.directory / name, staging / name)
        except OSError:  # another file system, or one without hard links
            shutil.copy2(base.directory / name, staging / name)


def _extended_manifest(manifest: BundleManifest, graphs: dict, checks: dict, int8: dict | None) -> BundleManifest:
    """`manifest` with the added precisions' graphs and checks; a replaced precision's engines are dropped."""
    return dataclasses.replace(
        manifest,
        graphs={**manifest.graphs, **graphs},
        checks={**manifest.checks, **checks},
        engines={precision: engines for precision, engines in manifest.engines.items() if precision not in graphs},
        int8=manifest.int8 if int8 is None else int8,
    )


def _export_graphs(
    model: Haris,
    staging: Path,
    precisions: tuple[str, ...],
    axes: dict,
    progress: bool,
    calibration: Int8Calibration | None,
    fp32_stages: dict[str, onnx.ModelProto] | None = None,
) -> tuple[dict, dict]:
    """Write and check each graph at each precision. The FP32 stage graphs are traced, unless
    `fp32_stages` gives them; the end-to-end graph is composed from them, when a precision has one.
    Runtimes run the stage graphs, so INT8 has no end-to-end graph: quantizing the whole model
    again would double the export's measuring for a file no runtime of ours loads."""
    samples = check_samples(model)
    graphs: dict[str, dict[str, GraphSpec]] = {precision: {} for precision in precisions}
    checks: dict[str, dict[str, dict]] = {precision: {} for precision in precisions}
    expected_by_graph: dict[str, list] = {}
    fp32_by_graph: dict[str, onnx.ModelProto] = {}
    names = GRAPHS if set(precisions) - {"int8"} else STAGES
    for name in tqdm(names, desc="export", unit="graph", disable=not progress):
        adapter = StageAdapter(model, name)
        # The end-to-end samples pair the same images and texts as the decoder's, whose eager
        # outputs are the whole model's: reuse them rather than run the image encoder again.
        expected = expected_by_graph["decoder"] if name == END_TO_END else eager_outputs(adapter, samples[name])
        expected_by_graph[name] = expected
        if name == END_TO_END:
            fp32 = compose_end_to_end(fp32_by_graph)
        else:
            fp32 = fp32_stages[name] if fp32_stages else export_stage_graph(adapter, samples[name][0], axes)
        fp32_by_graph[name] = fp32
        for precision in precisions:
            if precision == "int8" and name == END_TO_END:
                continue
            graph = _precision_graph(fp32, name, precision, calibration, progress)
            report = check_summary(check_graph(graph, name, precision, samples[name], expected))
            report["tensorrt_findings"] = [str(finding) for finding in check_tensorrt_compatibility(graph)]
            path = staging / f"{name}.{precision}.onnx"
            save_model(graph, path)
            graphs[precision][name] = _graph_spec(graph, path)
            checks[precision][name] = report
    return graphs, checks


def _precision_graph(fp32: onnx.ModelProto, name: str, precision: str, calibration: Int8Calibration | None, progress: bool) -> onnx.ModelProto:
    if precision == "fp16":
        return _fp16_graph(fp32, name)
    if precision == "int8":
        return calibration.quantize(fp32, name, progress)
    return fp32


def _fp16_graph(fp32: onnx.ModelProto, name: str) -> onnx.ModelProto:
    graph = convert_to_fp16(fp32)
    violations = float32_island_violations(graph)
    if violations:
        raise ExportError(f"the fp16 {name} graph lost its FP32 islands at {', '.join(violations[:5])}")
    return graph


def _graph_spec(graph: onnx.ModelProto, path: Path) -> GraphSpec:
    return GraphSpec(path.name, file_sha256(path), _tensor_specs(graph.graph.input, path), _tensor_specs(graph.graph.output, path))


def _tensor_specs(values, path: Path) -> tuple[TensorSpec, ...]:
    """The I/O specs of a graph, checked to carry the contract's dtypes (float32 unless int32 or bool)."""
    specs = []
    for value in values:
        tensor = value.type.tensor_type
        shape = tuple(dim.dim_param or dim.dim_value for dim in tensor.shape.dim)
        dtype = ONNX_DTYPES.get(tensor.elem_type, onnx.TensorProto.DataType.Name(tensor.elem_type))
        if dtype != tensor_dtype(value.name):
            raise ExportError(f"{path.name}: {value.name} is {dtype}, but the tensor contract says {tensor_dtype(value.name)}")
        specs.append(TensorSpec(value.name, dtype, shape))
    return tuple(specs)


def _manifest(model: Haris, checkpoint: str | Path, tokenizer: dict, axes: dict, graphs: dict, checks: dict, int8: dict) -> BundleManifest:
    config = model.config
    preprocess = dataclasses.asdict(config.preprocess) | {
        "image_size": config.image_size,
        "resize": "longest side, Pillow bilinear (SAM's ResizeLongestSide)",
        "pad": "bottom-right, zeros",
    }
    return BundleManifest(
        haris_version=__version__,
        created=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        source_checkpoint={"path": str(Path(checkpoint).resolve()), "weights_sha256": read_checkpoint_meta(checkpoint)["weights_sha256"]},
        model_config=config_to_dict(config),
        image_size=config.image_size,
        max_words=config.max_words,
        preprocess=preprocess,
        postprocess={"mask_stride": 4, "threshold": 0.0},
        tokenizer=tokenizer,
        dynamic_axes=axes,
        exporter={
            "exporter": "torch.onnx dynamo",
            "opset": OPSET,
            "torch": torch.__version__,
            "onnx": onnx.__version__,
            "onnxslim": onnxslim.__version__,
            "onnxruntime_checked_with": onnxruntime.__version__,
            "python": platform.python_version(),
        },
        graphs=graphs,
        checks=checks,
        int8=int8,
    )
