"""Opening a bundle directory: its manifest, and proof that each file is the one export wrote."""

from __future__ import annotations

import json
from pathlib import Path

from haris.errors import BundleError
from haris.file_digest import remembered_file_sha256
from haris.runtime.bundle_manifest import MANIFEST_FILE, BundleManifest, GraphSpec


class Bundle:
    """A bundle on disk, its files checked against their sha256 in the manifest.

    `Bundle.open(path)` checks every listed file (`haris inspect`, `haris build`). A runtime opens
    with `verify_all=False` and checks each file as it loads it (`verify_file`, `graph_path`): a
    Predictor then hashes only its precision's stage graphs or engines and the tokenizer, not the
    other precision nor the end-to-end graph it never runs (a paper-preset bundle is large: hashing
    all of it would slow every start; its size is in docs/measurements.md).
    """

    def __init__(self, directory: Path, manifest: BundleManifest) -> None:
        self.directory = directory
        self.manifest = manifest

    @classmethod
    def open(cls, directory: str | Path, verify_all: bool = True) -> Bundle:
        directory = Path(directory)
        manifest_path = directory / MANIFEST_FILE
        if not manifest_path.is_file():
            raise BundleError(f"{directory} is not a HARIS bundle (no {MANIFEST_FILE}); make one with `haris export`")
        try:
            data = json.loads(manifest_path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise BundleError(f"{manifest_path} is unreadable: {error}") from None
        bundle = cls(directory, BundleManifest.from_dict(data))
        if verify_all:
            bundle.verify()
        return bundle

    def verify(self) -> None:
        """Raise BundleError naming the first file that is missing or altered."""
        for name in self.manifest.files():
            self.verify_file(name)

    def verify_file(self, name: str) -> Path:
        """The path of the listed file `name`; BundleError when it is missing or altered.

        A file is hashed once per process while it stays unchanged (remembered_file_sha256), so
        loading it again, or after `verify`, costs a stat.
        """
        path = self.directory / name
        if not path.is_file():
            raise BundleError(f"bundle {self.directory} is missing {name}")
        if remembered_file_sha256(path) != self.manifest.files()[name]:
            raise BundleError(f"bundle file {path} does not match its sha256 in {MANIFEST_FILE}: it was altered or is incomplete")
        return path

    def graph_path(self, name: str, precision: str) -> Path:
        """The graph's file, verified: what loads a graph asks for."""
        return self.verify_file(self.graph_spec(name, precision).file)

    def graph_spec(self, name: str, precision: str) -> GraphSpec:
        return self.manifest.graph(name, precision)

    @property
    def tokenizer_path(self) -> Path:
        return self.directory / self.manifest.tokenizer["file"]

    @property
    def precisions(self) -> tuple[str, ...]:
        return tuple(self.manifest.graphs)
