"""Where a dataset split comes from, given the same way to every command that reads one.

`haris train`, `haris eval`, `haris bench parity` and the ablations take the same flags (`--data`,
`--split`, `--split-by`, `--images`, `--skip-bad`), made by `add_dataset_arguments` and read back by
`DatasetSource.from_arguments`; a run records its source in run.json (`to_dict`).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from haris.data.dataset_factory import open_dataset
from haris.data.referring_dataset import ReferringDataset


@dataclass(frozen=True)
class DatasetSource:
    folder: Path  # refer format (refs(<split_by>).p + instances.json) or PhraseCut
    split: str = "val"
    split_by: str | None = None  # which refs(<split_by>).p, when the folder holds several
    images: Path | None = None  # the image folder; None: FOLDER/images
    skip_bad: bool = False  # skip (and count) unreadable images and bad annotations instead of stopping

    def open(self) -> ReferringDataset:
        return open_dataset(self.folder, self.split, self.split_by, self.images, self.skip_bad)

    def with_split(self, split: str) -> DatasetSource:
        return replace(self, split=split)

    def to_dict(self) -> dict[str, Any]:
        return {
            "folder": str(Path(self.folder).resolve()),
            "split": self.split,
            "split_by": self.split_by,
            "images": str(self.images) if self.images else None,
            "skip_bad": self.skip_bad,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DatasetSource:
        if "data_dir" in data:  # run.json of runs made before DatasetSource
            data = {"folder": data["data_dir"], "images": data.get("image_dir"), "split_by": data.get("split_by")}
        images = data.get("images")
        return cls(
            Path(data["folder"]), data.get("split", "val"), data.get("split_by"), Path(images) if images else None, bool(data.get("skip_bad", False))
        )

    @classmethod
    def from_arguments(cls, args: argparse.Namespace) -> DatasetSource:
        """The source `add_dataset_arguments` described (flags a command does not take keep their defaults)."""
        return cls(
            Path(args.data),
            getattr(args, "split", "val"),
            args.split_by,
            Path(args.images) if args.images else None,
            getattr(args, "skip_bad", False),
        )


def add_dataset_arguments(parser: argparse.ArgumentParser, required: bool = True, split: bool = True, skip_bad: bool = True) -> None:
    """--data, --split-by, --images, and unless the command fixes them, --split and --skip-bad."""
    parser.add_argument(
        "--data",
        required=required,
        help="dataset folder: refer format (refs(<split_by>).p + instances.json, e.g. from `haris data synth`) or PhraseCut",
    )
    if split:
        parser.add_argument("--split", default="val", help="split to read (default: %(default)s)")
    parser.add_argument("--split-by", help="refs(<split_by>).p to read when the folder holds several (unc, umd, google)")
    parser.add_argument("--images", help="image folder (default: DATA/images)")
    if skip_bad:
        parser.add_argument("--skip-bad", action="store_true", help="skip (and count) unreadable images and bad annotations")
