"""Sampling the objects of a synthetic scene: attributes with many shared values, places without overlap."""

from __future__ import annotations

import numpy as np

from haris.data.synthetic.scene_object import SceneObject
from haris.data.synthetic.vocabulary import COLOURS, SHAPES, SIZES

_MIN_OBJECTS, _MAX_OBJECTS = 2, 6
_PLACEMENT_TRIES = 200
_MAX_TURN = 0.3  # radians; enough to vary the look, too little to turn a square into a diamond


class SceneSampler:
    """Draws 2-6 objects from a small per-scene palette of colours and shapes.

    Drawing each scene's objects from two or three colours and shapes makes distractors common:
    most objects share a colour or a shape with another, so a description must combine attributes,
    a position or a relation. Objects never overlap, so every mask is exactly what is drawn.
    """

    def __init__(self, image_size: int) -> None:
        self.image_size = image_size
        self.scale = image_size / 256
        self.gap = 6.0 * self.scale  # keeps neighbours apart enough that their boundaries are visible

    def sample(self, rng: np.random.Generator) -> list[SceneObject]:
        """The objects of one scene (at least two)."""
        while True:
            objects = self._place(self._attributes(rng), rng)
            if len(objects) >= _MIN_OBJECTS:
                return objects

    def _attributes(self, rng: np.random.Generator) -> list[tuple[str, str, str]]:
        count = int(rng.integers(_MIN_OBJECTS, _MAX_OBJECTS + 1))
        colours = rng.choice(list(COLOURS), size=int(rng.integers(1, 4)), replace=False)
        shapes = rng.choice(SHAPES, size=int(rng.integers(1, 4)), replace=False)
        return [(str(rng.choice(shapes)), str(rng.choice(colours)), str(rng.choice(list(SIZES)))) for _ in range(count)]

    def _place(self, attributes: list[tuple[str, str, str]], rng: np.random.Generator) -> list[SceneObject]:
        """Objects at free spots, big ones first (they are the hardest to fit); one with no spot is dropped."""
        placed: list[SceneObject] = []
        for shape, colour, size in sorted(attributes, key=lambda item: item[2] != "big"):
            low, high = SIZES[size]
            radius = float(rng.uniform(low, high)) * self.scale
            spot = self._free_spot(radius, placed, rng)
            if spot is not None:
                turn = float(rng.uniform(-_MAX_TURN, _MAX_TURN))
                placed.append(SceneObject(shape, colour, size, spot[0], spot[1], radius, turn))
        order = rng.permutation(len(placed))  # so that big objects are not always listed first
        return [placed[i] for i in order]

    def _free_spot(self, radius: float, placed: list[SceneObject], rng: np.random.Generator) -> tuple[float, float] | None:
        low, high = radius + self.gap, self.image_size - radius - self.gap
        for _ in range(_PLACEMENT_TRIES):
            x, y = float(rng.uniform(low, high)), float(rng.uniform(low, high))
            if all(np.hypot(x - o.centre_x, y - o.centre_y) >= radius + o.radius + self.gap for o in placed):
                return x, y
        return None
