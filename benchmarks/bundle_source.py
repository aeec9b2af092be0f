"""The checkpoint a bundle was exported from: the benches' eager reference, found and checked.

A bundle's manifest records the path and weights sha256 of its source checkpoint. The parity and
speed benches default to that checkpoint, and refuse, before any work, a checkpoint whose weights
are not the ones exported: compared with a foreign checkpoint, every backend would "fail parity".
"""

from __future__ import annotations

from pathlib import Path

from haris.checkpoint.checkpoint_io import read_checkpoint_meta, resolve_checkpoint
from haris.errors import HarisError
from haris.runtime.bundle import Bundle


def source_checkpoint(bundle: str | Path, checkpoint: str | Path | None = None) -> Path:
    """`checkpoint` (a checkpoint or run directory), or the bundle's recorded source when None,
    checked to hold the weights the bundle was exported from."""
    source = Bundle.open(bundle, verify_all=False).manifest.source_checkpoint
    if checkpoint is None:
        if not Path(source["path"]).is_dir():
            raise HarisError(
                f"bundle {bundle} was exported from {source['path']}, which is not here; pass --checkpoint "
                f"with a checkpoint of weights sha256 {source['weights_sha256'][:16]}"
            )
        checkpoint = source["path"]
    resolved = resolve_checkpoint(checkpoint)
    weights = read_checkpoint_meta(resolved).get("weights_sha256", "")
    if weights != source["weights_sha256"]:
        raise HarisError(
            f"checkpoint {resolved} has weights sha256 {weights[:16]}, but bundle {bundle} was exported from "
            f"weights sha256 {source['weights_sha256'][:16]} ({source['path']}): pass the checkpoint it was exported from"
        )
    return resolved
