"""`haris export`: a checkpoint in, a checked bundle out (docs/design.md, The bundle).

Every stage graph is traced and simplified, and the end-to-end graph is composed from them. Each is
checked against its eager stage in onnxruntime (random and demo inputs, all text lengths, N = 1 and
N = B) and, for FP16, checked to keep its FP32 islands, before it is written. A precision one of
whose graphs fails is refused whole, and the others are written: the manifest records the refusal,
and export_bundle raises PrecisionsRefused once the bundle is in place. FP32 is never refused
alone: every other precision is made from it, so its failure fails the export. The bundle is
assembled in a staging folder and renamed into place, so an interrupted or failed export leaves no
half-written bundle. Adding precisions to an existing bundle (`--add`) is export/bundle_extension.py,
which checks and writes its graphs with the same functions.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import platform
import shlex
from pathlib import Path
from typing import Any, NamedTuple

import onnx
import onnxruntime
import onnxslim
import torch

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
from haris.progress import Progress
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
) -> Path:
    """Export every graph of the checkpoint at `precisions` into the bundle directory `out`; INT8
    graphs are calibrated as `int8` asks (default: synthetic scenes). Raises PrecisionsRefused,
    after writing the bundle, when a precision other than FP32 was refused."""
    out = Path(out)
    check_precisions(precisions)
    if out.exists() and not overwrite:
        raise ExportError(f"{out} exists; pass --overwrite to replace it (or --add to add precisions to it)")
    model = model_at_image_size(load_checkpoint(checkpoint), image_size)
    axes = {"N": (1, max_images), "B": (1, max_expressions), "L": (1, model.config.max_words)}
    with atomic_directory(out) as staging:
        exported = export_checked_graphs(model, checkpoint, out, staging, precisions, axes, int8 or Int8Request(), progress)
        tokenizer = write_tokenizer_json(model.config, staging / "tokenizer.json")
        tokenizer["sha256"] = file_sha256(staging / "tokenizer.json")
        manifest = _manifest(model, checkpoint, tokenizer, axes, exported)
        write_manifest(manifest, staging)
    if exported.refused:
        raise refusal_error(f"wrote {out} with {', '.join(exported.graphs)} only", exported.refused)
    return out


class ExportedGraphs(NamedTuple):
    graphs: dict[str, dict[str, GraphSpec]]  # precision -> graph -> spec, of the precisions that passed
    checks: dict[str, dict[str, dict]]
    refused: dict[str, dict[str, str]]  # precision -> graph, reason, retry
    int8: dict | None  # the INT8 record, where INT8 passed


def check_precisions(precisions: tuple[str, ...]) -> None:
    unknown = set(precisions) - set(PRECISIONS)
    if unknown or not precisions:
        raise ExportError(f"precisions must be some of {', '.join(PRECISIONS)}, got {', '.join(precisions) or 'none'}")


def export_checked_graphs(
    model: Haris,
    checkpoint: str | Path,
    out: Path,
    staging: Path,
    precisions: tuple[str, ...],
    axes: dict,
    int8: Int8Request,
    progress: bool,
    base: Bundle | None = None,
    retry_overwrite: bool = False,
) -> ExportedGraphs:
    """Every graph at `precisions`, checked and written to `staging` (the FP32 stages traced, or those
    of the bundle `base` that --add extends); a refused precision gets the command that retries it
    into `out` (with --overwrite when `retry_overwrite`)."""
    if "int8" in precisions and int8.float_stages and base is None and "fp32" not in precisions:
        raise ExportError(
            f"--int8-stages leaves {', '.join(int8.float_stages)} float by sharing their FP32 graphs: export fp32 too "
            f"(--precision fp32,int8), or quantize every stage (--int8-stages {','.join(STAGES)})"
        )
    calibration = Int8Calibration.prepare(model, int8) if "int8" in precisions else None
    graphs, checks, refused = _export_graphs(model, staging, precisions, axes, progress, calibration, base)
    for precision, refusal in refused.items():
        refusal["retry"] = _retry_command(checkpoint, out, precision, int8, retry_overwrite)
    return ExportedGraphs(graphs, checks, refused, calibration.record() if "int8" in graphs else None)


def write_manifest(manifest: BundleManifest, staging: Path) -> None:
    (staging / MANIFEST_FILE).write_text(json.dumps(manifest.to_dict(), indent=2) + "\n", encoding="utf-8")


def _retry_command(checkpoint: str | Path, out: Path, precision: str, int8: Int8Request, overwrite: bool) -> str:
    """The `haris export` command that adds a refused precision to the bundle, with the INT8 settings of this export."""
    words = ["haris", "export", str(checkpoint), "--out", str(out), "--precision", precision, "--add"]
    words += ["--overwrite"] if overwrite else []
    words += int8.cli_options() if precision == "int8" else []
    return shlex.join(words)


def refusal_error(written: str, refused: dict[str, dict[str, str]]) -> PrecisionsRefused:
    """The error that says what was written and, per refused precision, why and how to retry it."""
    reasons = [f"{precision} was refused ({refusal['reason']}); retry it with `{refusal['retry']}`" for precision, refusal in refused.items()]
    return PrecisionsRefused(f"{written}; {'; '.join(reasons)}", refused)


def _export_graphs(
    model: Haris,
    staging: Path,
    precisions: tuple[str, ...],
    axes: dict,
    progress: bool,
    calibration: Int8Calibration | None,
    base: Bundle | None = None,
) -> tuple[dict, dict, dict]:
    """Write and check each graph at each precision: the graphs and checks of the precisions that
    passed, and per refused precision its graph and the reason. The FP32 stage graphs are traced,
    or read from `base`; the end-to-end graph is composed from them, when a precision has one.
    Runtimes run the stage graphs, so INT8 has no end-to-end graph: quantizing the whole model again
    would double the export's measuring for a file no runtime of ours loads. A stage INT8 leaves
    float (--int8-stages) gets the FP32 graph's file and check. A precision one of whose graphs
    fails is refused whole (runtimes need every stage): its graphs written so far are removed and
    the rest of it skipped."""
    samples = check_samples(model)
    graphs: dict[str, dict[str, GraphSpec]] = {precision: {} for precision in precisions}
    checks: dict[str, dict[str, dict]] = {precision: {} for precision in precisions}
    refused: dict[str, dict[str, str]] = {}
    expected_by_graph: dict[str, list] = {}
    fp32_by_graph: dict[str, onnx.ModelProto] = {}
    names = GRAPHS if set(precisions) - {"int8"} else STAGES
    precisions = tuple(precision for precision in PRECISIONS if precision in precisions)  # FP32 first: INT8 shares its graphs
    for name in Progress(names, "export", unit="graph", enabled=progress):
        adapter = StageAdapter(model, name)
        # The end-to-end samples pair the same images and texts as the decoder's, whose eager
        # outputs are the whole model's: reuse them rather than run the image encoder again.
        expected = expected_by_graph["decoder"] if name == END_TO_END else eager_outputs(adapter, samples[name])
        expected_by_graph[name] = expected
        fp32_by_graph[name] = fp32 = _fp32_model(name, adapter, samples[name][0], axes, base, fp32_by_graph)
        for precision in precisions:
            if precision in refused or (precision == "int8" and name == END_TO_END):
                continue
            if precision == "int8" and name in calibration.request.float_stages:
                graphs[precision][name], checks[precision][name] = _shared_fp32_graph(name, graphs, checks, base)
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


def _fp32_model(name: str, adapter: StageAdapter, sample: Any, axes: dict, base: Bundle | None, stages: dict) -> onnx.ModelProto:
    """The FP32 graph of `name`: composed from the `stages` (end to end), read from `base` (--add), or traced."""
    if name == END_TO_END:
        return compose_end_to_end(stages)
    return onnx.load(str(base.graph_path(name, "fp32"))) if base else export_stage_graph(adapter, sample, axes)


def _shared_fp32_graph(name: str, graphs: dict, checks: dict, base: Bundle | None) -> tuple[GraphSpec, dict]:
    """The spec and check of the FP32 graph of `name`: written by this export, or the bundle's it extends."""
    if base is not None:
        return base.graph_spec(name, "fp32"), base.manifest.checks["fp32"][name]
    return graphs["fp32"][name], checks["fp32"][name]


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


def _manifest(model: Haris, checkpoint: str | Path, tokenizer: dict, axes: dict, exported: ExportedGraphs) -> BundleManifest:
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
        graphs=exported.graphs,
        checks=exported.checks,
        int8=exported.int8 or {},
        refused=exported.refused,
    )
