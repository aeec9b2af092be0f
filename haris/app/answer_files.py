"""The page's downloads: the masks as PNG files in a zip, and the answer JSON (COCO RLE)."""

from __future__ import annotations

import io
import json
import re
import shutil
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

# A running page writes a folder per answer; folders older than this are removed as new ones come.
KEEP_SECONDS = 3600


def write_answer_files(root: Path, answer: dict[str, Any], masks: list[np.ndarray]) -> list[Path]:
    """masks.zip (one 0/255 PNG per expression, named by number and expression) and predictions.json,
    in a fresh folder under `root`."""
    folder = _fresh_folder(root)
    json_path = folder / "predictions.json"
    json_path.write_text(json.dumps(answer, indent=2), encoding="utf-8")
    zip_path = folder / "masks.zip"
    with zipfile.ZipFile(zip_path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for index, (result, mask) in enumerate(zip(answer["results"], masks), start=1):
            archive.writestr(f"{index:02d}_{_slug(result['expression'])}.png", _png(mask))
    return [zip_path, json_path]


def _png(mask: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(mask.astype(np.uint8) * 255, "L").save(buffer, format="PNG")
    return buffer.getvalue()


def _slug(expression: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", expression.lower()).strip("-")[:48] or "mask"


def _fresh_folder(root: Path) -> Path:
    """A new folder under `root` (one per answer: concurrent visitors never share one), after
    removing folders older than KEEP_SECONDS (the page has long served them)."""
    root.mkdir(parents=True, exist_ok=True)
    cutoff = time.time() - KEEP_SECONDS
    for old in root.iterdir():
        if old.is_dir() and old.stat().st_mtime < cutoff:
            shutil.rmtree(old, ignore_errors=True)
    return Path(tempfile.mkdtemp(prefix="answer-", dir=root))
