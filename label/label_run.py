"""`haris label`: a run over an image collection, from the listing to the merged COCO file.

The images are listed and sorted, their expressions read and checked against the bundle's tokenizer
(a bad expression fails now, not in an actor an hour in), and the run compared with the manifest in
`out`: a new run plans its shards, a rerun of the same run labels only the shards not done, a finished
run has nothing to do, and a different run in the same folder is refused. The shards to do go through
one Ray Data pipeline (label_pipeline.py); each is written, atomically, as soon as its last image
arrives, then marked done in the manifest. Last, annotations.json merges the shards (unless `merge`
is off). Output format: coco_shard.py; manifest: label_manifest.py; docs/labelling.md.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from haris import __version__
from haris.atomic_file import write_atomically
from haris.errors import HarisError
from haris.label.coco_merge import MERGED_FILE, merge_shards
from haris.label.coco_shard import categories, shard_counts, shard_document
from haris.label.expression_table import ExpressionTable
from haris.label.image_list import list_images
from haris.label.label_manifest import LabelManifest
from haris.label.label_progress import LabelProgress
from haris.label.label_settings import LabelSettings
from haris.label.shard_collector import ShardCollector
from haris.runtime.bundle import Bundle
from haris.runtime.bundle_tokenizer import BundleTokenizer

logger = logging.getLogger(__name__)
TOKENIZER_CHUNK = 1024  # distinct expressions checked per tokenizer call


def label_images(settings: LabelSettings, progress: LabelProgress | None = None) -> dict[str, Any]:
    """Label what is not done yet; return the run's totals, the shards this call labelled and the merged file."""
    out = Path(settings.out)
    images = list_images(settings.images)
    table = ExpressionTable.read(settings.expressions, images)
    bundle = Bundle.open(settings.bundle, verify_all=False)
    check_words(bundle, table)
    run = run_fields(settings, bundle, images, table)
    manifest = open_manifest(settings, run, len(images))
    pending = manifest.pending()
    info = {"description": "referring-expression masks by HARIS (haris label)", "haris_version": __version__, "bundle": run["bundle"]}
    merged = out / MERGED_FILE
    if pending and manifest.data.get("merged"):  # shards gone since a merge: the merged file is out of date
        merged.unlink(missing_ok=True)
        manifest.set_merged(None)
    if pending:
        label_shards(settings, manifest, pending, images, table, info, progress or LabelProgress())
    else:
        logger.info("nothing to do: all %d shards in %s are done", len(manifest.shards), out)
    if settings.merge and (pending or not merged.is_file() or manifest.data.get("merged") != MERGED_FILE):
        shard_files = [manifest.shard_path(shard["id"]) for shard in manifest.shards]
        merge_shards(shard_files, out, info, categories(table))
        manifest.set_merged(MERGED_FILE)
    return {**manifest.totals(), "shards_labelled": len(pending), "out": str(out), "merged": str(merged) if merged.is_file() else None}


def open_manifest(settings: LabelSettings, run: Mapping[str, Any], image_count: int) -> LabelManifest:
    """The manifest of `settings.out`: a new run's, or the one there, refused when it is another run's."""
    out = Path(settings.out)
    manifest = LabelManifest.load(out)
    if manifest is None:
        sources = {"images": settings.images, "expressions": settings.expressions}
        manifest = LabelManifest.plan(out, run, sources, image_count, settings.shard_size)
        manifest.save()
    else:
        manifest.check_same_run(run)
    return manifest


def check_words(bundle: Bundle, table: ExpressionTable) -> None:
    """Every distinct expression through the bundle's tokenizer: one with no words is refused here."""
    settings = bundle.manifest.tokenizer
    bundle.verify_file(settings["file"])
    tokenizer = BundleTokenizer.from_settings(settings, bundle.directory)
    texts = list(table.categories)
    for start in range(0, len(texts), TOKENIZER_CHUNK):
        tokenizer(texts[start : start + TOKENIZER_CHUNK])


def run_fields(settings: LabelSettings, bundle: Bundle, images: Sequence[Path], table: ExpressionTable) -> dict[str, Any]:
    """What decides the output: the model, the images and their expressions (digests), the engine and the shards."""
    model = {"bundle": str(bundle.directory.absolute()), "weights_sha256": bundle.manifest.source_checkpoint["weights_sha256"]}
    collection = {"images": len(images), "images_sha256": _sha256(map(str, images)), "expressions_sha256": _sha256(map(json.dumps, table.per_image))}
    return {**model, **collection, **settings.result_fields()}


def _sha256(lines: Iterable[str]) -> str:
    digest = hashlib.sha256()
    for line in lines:
        digest.update(line.encode("utf-8") + b"\n")
    return digest.hexdigest()


def label_shards(
    settings: LabelSettings,
    manifest: LabelManifest,
    pending: Sequence[int],
    images: Sequence[Path],
    table: ExpressionTable,
    info: Mapping[str, Any],
    progress: LabelProgress,
) -> None:
    """Run the pipeline over the `pending` shards, writing each as it completes."""
    from haris.label import label_pipeline

    shards = [(index, manifest.image_range(index)) for index in pending]
    collector = ShardCollector({index: len(indices) for index, indices in shards})
    to_do = set(pending)
    done_before = sum(shard["count"] for shard in manifest.shards if shard["id"] not in to_do)
    started = label_pipeline.start_ray_unless_running(settings.address)
    progress.start(sum(len(indices) for _, indices in shards), done_before)
    try:
        for batch in label_pipeline.labelled_batches(settings, shards, images, table):
            progress.advance(batch)
            for index, rows in collector.add(batch):
                write_shard(manifest, index, rows, images, table, {**info, "shard": index})
    finally:
        progress.close()
        if started:
            label_pipeline.stop_ray()
    if collector.unfinished():
        raise HarisError(f"the pipeline ended with shards {collector.unfinished()[:5]} incomplete; rerun the same command to label them")


def write_shard(
    manifest: LabelManifest, index: int, rows: Sequence[Mapping[str, Any]], images: Sequence[Path], table: ExpressionTable, info: Mapping[str, Any]
) -> None:
    """The shard's COCO file, renamed into place, then the manifest marking it done."""
    document = shard_document(rows, images, table, info)
    write_atomically(manifest.shard_path(index), json.dumps(document).encode("utf-8"))
    manifest.mark_done(index, shard_counts(document, rows))
    logger.debug("wrote %s", manifest.shard_path(index))
