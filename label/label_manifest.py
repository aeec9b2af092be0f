"""The manifest of a labelling run (`<out>/manifest.json`): what the run is, its shards, which are done.

A run's images, in sorted order, are cut into shards of `shard_size`; shard k holds images
[k * shard_size, (k + 1) * shard_size) and is written to `shards/shard-<k>.json` when its last image is
labelled. The shard file is renamed into place first, then the manifest (also renamed into place)
marks it done, so after a kill at any moment a shard marked done is whole, and one not marked done is
labelled again. `run` holds what decides the output: a rerun with the same `run` resumes, one with a
different `run` is refused with the differences named.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from haris import __version__
from haris.atomic_file import write_json_atomically
from haris.errors import HarisError

MANIFEST_FILE = "manifest.json"
FORMAT_VERSION = 1


class LabelManifest:
    def __init__(self, out: Path, data: dict[str, Any]) -> None:
        self.out = out
        self.data = data

    @classmethod
    def plan(cls, out: Path, run: Mapping[str, Any], sources: Mapping[str, str], image_count: int, shard_size: int) -> LabelManifest:
        """A new run's manifest: every shard still to do."""
        shards = [_shard_entry(index, first, min(shard_size, image_count - first)) for index, first in enumerate(range(0, image_count, shard_size))]
        data = {"format_version": FORMAT_VERSION, "haris_version": __version__, "run": dict(run), "sources": dict(sources), "shards": shards}
        return cls(out, data)

    @classmethod
    def load(cls, out: Path) -> LabelManifest | None:
        """The manifest in `out`, or None where there is none (a new run)."""
        path = out / MANIFEST_FILE
        if not path.is_file():
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format_version", 0) > FORMAT_VERSION:
            raise HarisError(f"{path} was written by a newer haris (format {data['format_version']}); label into another --out")
        return cls(out, data)

    def check_same_run(self, run: Mapping[str, Any]) -> None:
        """HarisError naming each setting that differs from the run recorded here."""
        recorded = self.data["run"]
        keys = dict.fromkeys([*recorded, *run])
        differences = [_difference(key, recorded.get(key), run.get(key)) for key in keys if recorded.get(key) != run.get(key)]
        if differences:
            raise HarisError(
                f"{self.out} holds a labelling run with other settings ({'; '.join(differences)}): "
                "rerun with that run's arguments to resume it, or give another --out"
            )

    @property
    def shards(self) -> list[dict[str, Any]]:
        return self.data["shards"]

    def shard_path(self, index: int) -> Path:
        return self.out / self.shards[index]["file"]

    def image_range(self, index: int) -> range:
        """The positions, in the run's sorted image list, of shard `index`'s images."""
        shard = self.shards[index]
        return range(shard["first"], shard["first"] + shard["count"])

    def pending(self) -> list[int]:
        """The shards to label: not marked done, or marked done but their file is gone."""
        return [shard["id"] for shard in self.shards if not (shard["done"] and self.shard_path(shard["id"]).is_file())]

    def mark_done(self, index: int, counts: Mapping[str, Any]) -> None:
        """Record shard `index` as written (its file is in place) with its counts, and save."""
        self.shards[index].update(counts, done=True)
        self.save()

    def set_merged(self, name: str | None) -> None:
        self.data["merged"] = name
        self.save()

    def totals(self) -> dict[str, int]:
        """Images, labelled and unreadable images, annotations and shards done, over the whole run."""
        done = [shard for shard in self.shards if shard["done"]]
        totals = {key: sum(shard.get(key, 0) for shard in done) for key in ("labelled", "unreadable", "annotations")}
        return {"images": sum(shard["count"] for shard in self.shards), **totals, "shards": len(self.shards), "shards_done": len(done)}

    def save(self) -> None:
        self.data["totals"] = self.totals()
        write_json_atomically(self.out / MANIFEST_FILE, self.data)


def _difference(key: str, there: Any, now: Any) -> str:
    if key.endswith("_sha256"):  # a digest says only that its subject changed
        return f"other {key.removesuffix('_sha256').replace('_', ' ')} (sha256 {str(there)[:12]} there, {str(now)[:12]} now)"
    return f"{key}: {there!r} there, {now!r} now"


def _shard_entry(index: int, first: int, count: int) -> dict[str, Any]:
    return {"id": index, "file": f"shards/shard-{index:06d}.json", "first": first, "count": count, "done": False}
