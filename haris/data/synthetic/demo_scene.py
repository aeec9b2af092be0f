"""One synthetic scene in memory: the pixels, its objects and their expressions.

The dataset writer saves these; export checks and the demo use them directly as "real" inputs
(a picture with objects and sentences that describe them), with no dataset on disk.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from haris.data.synthetic.expression_writer import ExpressionWriter
from haris.data.synthetic.scene_object import SceneObject
from haris.data.synthetic.scene_sampler import SceneSampler
from haris.data.synthetic.shape_renderer import ShapeRenderer


class DemoScene(NamedTuple):
    pixels: np.ndarray  # uint8 (S, S, 3)
    objects: list[SceneObject]
    annotations: list[dict]  # COCO-style: segmentation, bbox, area
    expressions: list[list[str]]  # per object; empty where the object cannot be described alone


def render_scene(index: int, seed: int, image_size: int) -> DemoScene:
    """Scene `index` of the stream seeded by `seed`; redrawn until some object can be described."""
    rng = np.random.default_rng([seed, index])
    sampler, renderer = SceneSampler(image_size), ShapeRenderer(image_size)
    while True:
        objects = sampler.sample(rng)
        pixels, annotations = renderer.render(objects, rng)
        centres = [(x + w / 2, y + h / 2) for x, y, w, h in (a["bbox"] for a in annotations)]
        expressions = ExpressionWriter(objects, centres, image_size).write(rng)
        if any(expressions):
            return DemoScene(pixels, objects, annotations, expressions)


def scene_sentences(scene: DemoScene) -> list[str]:
    """Every expression of the scene, objects in order."""
    return [sentence for sentences in scene.expressions for sentence in sentences]
