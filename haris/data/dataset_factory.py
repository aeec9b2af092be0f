"""Opening a referring dataset folder: the refer format (RefCOCO, RefCOCO+, G-Ref, synthetic) or PhraseCut."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from haris.errors import DataError


def open_dataset(
    data_dir: str | Path,
    split: str,
    split_by: str | None = None,
    image_dir: str | Path | None = None,
    skip_bad: bool = False,
) -> Any:
    """A dataset with `records`, `expressions`, `load_image(record)` and `load_mask(record)`."""
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise DataError(f"dataset folder not found: {data_dir}")
    if (data_dir / f"refer_{split}.json").is_file() or (data_dir / "image_data_split.json").is_file():
        from haris.data.phrasecut_dataset import PhraseCutDataset

        return PhraseCutDataset(data_dir, split=split, image_dir=image_dir, skip_bad=skip_bad)
    from haris.data.refer_dataset import ReferDataset

    return ReferDataset(data_dir, split=split, split_by=split_by or _only_split_by(data_dir), image_dir=image_dir, skip_bad=skip_bad)


def _only_split_by(data_dir: Path) -> str:
    found = sorted(m.group(1) for path in data_dir.glob("refs(*).p") if (m := re.fullmatch(r"refs\((.+)\)\.p", path.name)))
    if len(found) == 1:
        return found[0]
    if not found:
        raise DataError(f"{data_dir} holds no refs(<split_by>).p file (refer format) nor PhraseCut's refer_<split>.json")
    raise DataError(f"{data_dir} holds several splits {found}: choose one with --split-by")
