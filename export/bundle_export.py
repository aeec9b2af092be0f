"""`haris export`: a checkpoint in, a checked bundle out (docs/design.md, The bundle).

Every stage graph is traced and simplified, and the end-to-end graph is composed from them. Each is
checked against its eager stage in onnxruntime (random and demo inputs, all text lengths, N = 1 and
N = B) and, for FP16, checked to keep its FP32 islands, before it is written. A precision one of
whose graphs fails is refused whole, and the others are written: the manifest records the refusal,
and export_bundle raises PrecisionsRefused once the bundle is in place. FP32 is never refused
alone: every other precision is made from it, so its failure fails the export. The bundle is
assembled in a staging folder and renamed into place, so an interrupted or failed export leaves no
half-written bundle.

With `add`, the precisions asked for are added to an existing bundle of the same checkpoint: its
FP32 graphs are converted or quantized as they are (no second trace), checked the same way, and
the bundle is replaced by a copy that has them too. A refused precision leaves the bundle as it was.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import os
import platform
import shlex
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
from haris.errors import ExportError, PrecisionsRefused
from haris.export.check_samples import check_samples
from haris.export.end_to_end_graph import compose_end_to_end
from haris.export.fp16_conversion import convert_to_fp16, float32_island_violations
from haris.export.graph_check import check_graph, check_summary, eager_outputs
from haris.export.int8_calibration import Int8Calibration, Int8Request, measured_on
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
    of this checkpoint and the precisions are made from its FP32 graphs and added to it. Raises
    PrecisionsRefused, after writing the bundle, when a precision other than FP32 was refused."""
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
    int8 = int8 or Int8Request()
    calibration = Int8Calibration.prepare(model, int8) if "int8" in precisions else None
    with atomic_directory(out) as staging:
        stages = {name: onnx.load(str(base.graph_path(name, "fp32"))) for name in STAGES} if base else None
        graphs, checks, refused = _export_graphs(model, staging, precisions, axes, progress, calibration, stages)
        for precision, refusal in refused.items():
            refusal["retry"] = _retry_command(checkpoint, out, precision, int8, overwrite=add and overwrite)
        record = calibration.record() if "int8" in graphs else None
        if base is None:
            tokenizer = write_tokenizer_json(model.config, staging / "tokenizer.json")
            tokenizer["sha256"] = file_sha256(staging / "tokenizer.json")
            manifest = _manifest(model, checkpoint, tokenizer, axes, graphs, checks, record or {}, refused)
        else:
            if not graphs:  # every precision asked was refused: the bundle stays exactly as it was
                raise _refusal(f"{out} is unchanged", refused)
            _link_files(base, staging, keep=set(base.manifest.graphs) - set(graphs))
            manifest = _extended_manifest(base.manifest, graphs, checks, record, refused)
        (staging / MANIFEST_FILE).write_text(json.dumps(manifest.to_dict(), indent=2) + "\n", encoding="utf-8")
    if refused:
        raise _refusal(f"added {', '.join(graphs)} to {out}" if add else f"wrote {out} with {', '.join(graphs)} only", refused)
    return out


def _retry_command(checkpoint: str | Path, out: Path, precision: str, int8: Int8Request, overwrite: bool) -> str:
    """The `haris export` command that adds a refused precision to the bundle, with the INT8 settings of this export."""
    words = ["haris", "export", str(checkpoint), "--out", str(out), "--precision", precision, "--add"]
    words += ["--overwrite"] if overwrite else []
    words += int8.cli_options() if precision == "int8" else []
    return shlex.join(words)


def _refusal(written: str, refused: dict[str, dict[str, str]]) -> PrecisionsRefused:
    """The error that says what was written and, per refused precision, why and how to retry it."""
    reasons = [f"{precision} was refused ({refusal['reason']}); retry it with `{refusal['retry']}`" for precision, refusal in refused.items()]
    return PrecisionsRefused(f"{written}; {'; '.join(reasons)}", refused)


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


def _extended_manifest(manifest: BundleManifest, graphs: dict, checks: dict, int8: dict | None, refused: dict) -> BundleManifest:
    """`manifest` with the added precisions' graphs and checks; a replaced precision's engines are dropped.
    A refusal is listed while the bundle has no graphs of its precision: an --add that passes clears it,
    and a refused replacement (--overwrite) leaves the graphs it would have replaced listed instead."""
    all_graphs = {**manifest.graphs, **graphs}
    return dataclasses.replace(
        manifest,
        graphs=all_graphs,
        checks={**manifest.checks, **checks},
        engines={precision: engines for precision, engines in manifest.engines.items() if precision not in graphs},
        int8=manifest.int8 if int8 is None else int8,
        refused={precision: refusal for precision, refusal in {**manifest.refused, **refused}.items() if precision not in all_graphs},
    )


def _export_graphs(
    model: Haris,
    staging: Path,
    precisions: tuple[str, ...],
    axes: dict,
    progress: bool,
    calibration: Int8Calibration | None,
    fp32_stages: dict[str, onnx.ModelProto] | None = None,
) -> tuple[dict, dict, dict]:
    """Write and check each graph at each precision: the graphs and checks of the precisions that
    passed, and per refused precision its graph and the reason. The FP32 stage graphs are traced,
    unless `fp32_stages` gives them; the end-to-end graph is composed from them, when a precision
    has one. Runtimes run the stage graphs, so INT8 has no end-to-end graph: quantizing the whole
    model again would double the export's measuring for a file no runtime of ours loads. A
    precision one of whose graphs fails is refused whole (runtimes need every stage): its graphs
    written so far are removed and the rest of it skipped."""
    samples = check_samples(model)
    graphs: dict[str, dict[str, GraphSpec]] = {precision: {} for precision in precisions}
    checks: dict[str, dict[str, dict]] = {precision: {} for precision in precisions}
    refused: dict[str, dict[str, str]] = {}
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
            if precision in refused or (precision == "int8" and name == END_TO_END):
                continue
            try:
                graph = _precision_graph(fp32, name, precision, calibration, progress)
                graphs[precision][name], checks[precision][name] = _write_checked_graph(graph, name, precision, samples[name], expected, staging)
            except ExportError as error:
                if precision == "fp32":
                    raise  # every other precision is made from the FP32 graphs: without them there is no bundle
                refused[precision] = {"graph": name, "reason": str(error)}
                del graphs[precision], checks[precision]
                for path in staging.glob(f"*.{precision}.onnx"):
                    path.unlink()
    return graphs, checks, refused


def _write_checked_graph(graph: onnx.ModelProto, name: str, precision: str, samples: list, expected: list, staging: Path) -> tuple[GraphSpec, dict]:
    """Check `graph` against eager, then write it: its spec and what the manifest records of its check."""
    report = check_summary(check_graph(graph, name, precision, samples, expected))
    report["tensorrt_findings"] = [str(finding) for finding in check_tensorrt_compatibility(graph)]
    path = staging / f"{name}.{precision}.onnx"
    save_model(graph, path)
    return _graph_spec(graph, path), report


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


def _manifest(
    model: Haris, checkpoint: str | Path, tokenizer: dict, axes: dict, graphs: dict, checks: dict, int8: dict, refused: dict
) -> BundleManifest:
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
            "measured_on": measured_on(),
        },
        graphs=graphs,
        checks=checks,
        int8=int8,
        refused=refused,
    )
