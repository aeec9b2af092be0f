"""`haris export --add`: precisions added to an existing bundle of the same checkpoint.

Its FP32 graphs are converted or quantized as they are (no second trace) and checked as an export
checks them; the bundle is then replaced by a copy that has them too, its other files hard-linked.
A precision refused by its check is not added, and when every precision asked is refused the
bundle is left exactly as it was.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
from pathlib import Path

from haris.checkpoint.atomic_directory import atomic_directory
from haris.checkpoint.checkpoint_io import load_checkpoint, read_checkpoint_meta
from haris.errors import ExportError
from haris.export.bundle_export import ExportedGraphs, check_precisions, export_checked_graphs, refusal_error, write_manifest
from haris.export.int8_calibration import Int8Request
from haris.export.model_resizing import model_at_image_size
from haris.runtime.bundle import Bundle
from haris.runtime.bundle_manifest import BundleManifest


def add_precisions(
    checkpoint: str | Path,
    bundle_dir: str | Path,
    precisions: tuple[str, ...],
    overwrite: bool = False,
    progress: bool = True,
    int8: Int8Request | None = None,
    image_size: int | None = None,
) -> Path:
    """Add `precisions` (fp16, int8), made from the FP32 graphs of the bundle `bundle_dir` exported
    from `checkpoint`; `overwrite` replaces precisions it has. `image_size`, if given, must be the
    bundle's. Raises PrecisionsRefused when a precision was refused (the others are added)."""
    out = Path(bundle_dir)
    check_precisions(precisions)
    base = _bundle_to_extend(out, checkpoint, precisions, overwrite)
    if image_size not in (None, base.manifest.image_size):
        raise ExportError(f"{out} was exported at image size {base.manifest.image_size}; --image-size {image_size} cannot be added to it")
    model = model_at_image_size(load_checkpoint(checkpoint), base.manifest.image_size)
    with atomic_directory(out) as staging:
        axes = dict(base.manifest.dynamic_axes)
        exported = export_checked_graphs(model, checkpoint, out, staging, precisions, axes, int8 or Int8Request(), progress, base, overwrite)
        if not exported.graphs:  # every precision asked was refused: the bundle stays exactly as it was
            raise refusal_error(f"{out} is unchanged", exported.refused)
        _link_files(base, staging, keep=set(base.manifest.graphs) - set(exported.graphs))
        write_manifest(_extended_manifest(base.manifest, exported), staging)
    if exported.refused:
        raise refusal_error(f"added {', '.join(exported.graphs)} to {out}", exported.refused)
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


def _extended_manifest(manifest: BundleManifest, exported: ExportedGraphs) -> BundleManifest:
    """`manifest` with the added precisions' graphs and checks; a replaced precision's engines are dropped.
    A refusal is listed while the bundle has no graphs of its precision: an --add that passes clears it,
    and a refused replacement (--overwrite) leaves the graphs it would have replaced listed instead."""
    all_graphs = {**manifest.graphs, **exported.graphs}
    return dataclasses.replace(
        manifest,
        graphs=all_graphs,
        checks={**manifest.checks, **exported.checks},
        engines={precision: engines for precision, engines in manifest.engines.items() if precision not in exported.graphs},
        int8=manifest.int8 if exported.int8 is None else exported.int8,
        refused={precision: refusal for precision, refusal in {**manifest.refused, **exported.refused}.items() if precision not in all_graphs},
    )
