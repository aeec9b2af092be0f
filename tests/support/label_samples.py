"""The labelling collection of the `label` tests: demo scenes as PNG files of varied sizes (half in a
subfolder), two files that are not images, and three expressions for all."""

from __future__ import annotations

from pathlib import Path

from PIL import Image
from runtime_samples import demo_scenes

EXPRESSIONS = ["the red circle", "the big square on the left", "the small green triangle"]
SCENES = 40
UNREADABLE = ("empty.png", "notes.jpg")


def write_collection(root: Path) -> tuple[Path, Path]:
    """(images folder, expressions file) under `root`."""
    (root / "images" / "more").mkdir(parents=True)
    for index, (pixels, _) in enumerate(demo_scenes(SCENES)):
        folder = root / "images" / ("more" if index % 2 else "")
        Image.fromarray(pixels[: 256 - 3 * index]).save(folder / f"scene_{index:02d}.png")  # sizes differ
    (root / "images" / UNREADABLE[0]).write_bytes(b"")
    (root / "images" / "more" / UNREADABLE[1]).write_text("not an image")
    (root / "expressions.txt").write_text("\n".join(EXPRESSIONS) + "\n")
    return root / "images", root / "expressions.txt"
