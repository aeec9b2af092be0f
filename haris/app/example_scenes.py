"""The example scenes the page offers: synthetic scenes with expressions about their shapes.

They ship as small PNGs with a JSON of expressions (haris/app/examples/), written once by
`write_example_scenes` from the synthetic generator: the page then needs neither the generator's
dependencies (pycocotools) nor time at start-up. tests/app/test_example_scenes.py checks that the
shipped files are what the generator draws.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import NamedTuple

import numpy as np
from PIL import Image

EXAMPLES_FOLDER = Path(__file__).with_name("examples")
INDEX_FILE = "scenes.json"
SCENES, SEED, IMAGE_SIZE = 4, 0, 320


class ExampleScene(NamedTuple):
    image: Path
    expressions: list[str]


def load_example_scenes(folder: Path = EXAMPLES_FOLDER) -> list[ExampleScene]:
    """The scenes listed in the folder's scenes.json, in order."""
    index = json.loads((folder / INDEX_FILE).read_text(encoding="utf-8"))
    return [ExampleScene(folder / scene["image"], list(scene["expressions"])) for scene in index]


def write_example_scenes(folder: Path = EXAMPLES_FOLDER, count: int = SCENES, seed: int = SEED, image_size: int = IMAGE_SIZE) -> list[ExampleScene]:
    """Render `count` synthetic scenes into `folder`: scene_<i>.png and scenes.json, with the first
    expression of each object that one can describe alone."""
    from haris.data.synthetic.demo_scene import render_scene  # the generator, only when (re)writing

    folder.mkdir(parents=True, exist_ok=True)
    index = []
    for number in range(count):
        scene = render_scene(number, seed, image_size)
        name = f"scene_{number}.png"
        Image.fromarray(scene.pixels).save(folder / name, format="PNG", optimize=True)
        index.append({"image": name, "expressions": [sentences[0] for sentences in scene.expressions if sentences]})
    (folder / INDEX_FILE).write_text(json.dumps(index, indent=2) + "\n", encoding="utf-8")
    return load_example_scenes(folder)


def read_pixels(path: Path) -> np.ndarray:
    with Image.open(path) as picture:
        return np.asarray(picture.convert("RGB"))
