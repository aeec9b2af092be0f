"""Opening a bundle directory: its manifest, and proof that every file is the one export wrote."""

from __future__ import annotations

import json
from pathlib import Path

from haris.errors import BundleError
from haris.file_digest import file_sha256
from haris.runtime.bundle_manifest import MANIFEST_FILE, BundleManifest, GraphSpec


class Bundle:
    """A bundle on disk. `Bundle.open(path)` checks every listed file against its sha256."""

    def __init__(self, directory: Path, manifest: BundleManifest) -> None:
        self.directory = directory
        self.manifest = manifest

    @classmethod
    def open(cls, directory: str | Path, verify: bool = True) -> Bundle:
        directory = Path(directory)
        manifest_path = directory / MANIFEST_FILE
        if not manifest_path.is_file():
            raise BundleError(f"{directory} is not a HARIS bundle (no {MANIFEST_FILE}); make one with `haris export`")
        try:
            data = json.loads(manifest_path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise BundleError(f"{manifest_path} is unreadable: {error}") from None
        bundle = cls(directory, BundleManifest.from_dict(data))
        if verify:
            bundle.verify()
        return bundle

    def verify(self) -> None:
        """Raise BundleError naming the first file that is missing or altered."""
        for name, expected in self.manifest.files().items():
            path = self.directory / name
            if not path.is_file():
                raise BundleError(f"bundle {self.directory} is missing {name}")
            if file_sha256(path) != expected:
                raise BundleError(f"bundle file {path} does not match its sha256 in {MANIFEST_FILE}: it was altered or is incomplete")

    def graph_path(self, name: str, precision: str) -> Path:
        return self.directory / self.graph_spec(name, precision).file

    def graph_spec(self, name: str, precision: str) -> GraphSpec:
        return self.manifest.graph(name, precision)

    @property
    def tokenizer_path(self) -> Path:
        return self.directory / self.manifest.tokenizer["file"]

    @property
    def precisions(self) -> tuple[str, ...]:
        return tuple(self.manifest.graphs)

