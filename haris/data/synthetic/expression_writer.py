"""Writing referring expressions that pick out exactly one object of a synthetic scene.

The grammar:  "the" [size] [colour] (shape | "shape") [position | relation "the" [size] [colour] (shape | "shape")]

Its meaning, computed from each object's attributes and the centre of its bounding box:
- the stated attributes select the candidates: every object whose attributes equal all of them;
- a position picks the candidate with the smallest x ("on the left"), largest x ("on the right"),
  smallest y ("at the top"), largest y ("at the bottom") or smallest distance to the image centre
  ("in the middle");
- a relation names a landmark, described by attributes that only it has; the candidates other than
  the landmark are kept when they lie in the landmark's cone: "left of" keeps c when
  (landmark.x - c.x) > |c.y - landmark.y|, and likewise for "right of", "above" and "below".
An expression is written only when this picks exactly one object, with margins (a position wins by
`POSITION_GAP`, no candidate lies within `CONE_MARGIN` of a cone's edge) so that the answer is also
plain to the eye, and a position is only spoken of an object in that part of the image (no "on the
left" for an object right of the centre), as a person would.

Preferred are expressions that state an attribute and need every part: the distractors then share
the stated attributes with the target, and only the whole expression tells them apart. Bare ones
("the shape on the left") and over-specified ones are kept for when too few of those exist.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np

from haris.data.synthetic.description import Description
from haris.data.synthetic.scene_object import SceneObject
from haris.data.synthetic.vocabulary import ATTRIBUTES, POSITIONS, RELATIONS

POSITION_GAP = 0.10  # of the image size: how far the picked object must beat the runner-up
CONE_MARGIN = 0.06  # of the image size: how far every candidate must lie from a relation cone's edge
_MAX_EXPRESSIONS = 3
_SUBSETS = [names for count in range(len(ATTRIBUTES) + 1) for names in combinations(ATTRIBUTES, count)]


class ExpressionWriter:
    """Describes each object of one scene with 1-3 unambiguous expressions (none if it cannot)."""

    def __init__(self, objects: list[SceneObject], centres: list[tuple[float, float]], image_size: int) -> None:
        self.objects, self.centres, self.size = objects, centres, image_size
        self.position_gap = POSITION_GAP * image_size
        self.cone_margin = CONE_MARGIN * image_size
        self._resolved: dict[Description, int | None] = {}  # shorter descriptions recur across variants
        self._matches: dict[tuple[tuple[str, str], ...], list[int]] = {}

    def write(self, rng: np.random.Generator) -> list[list[str]]:
        """Per object, its expressions (an empty list for an object no expression singles out)."""
        landmarks = {index: self._landmark(index, rng) for index in range(len(self.objects))}
        landmarks = {index: landmark for index, landmark in landmarks.items() if landmark is not None}
        return [self._expressions(index, landmarks, rng) for index in range(len(self.objects))]

    def resolve(self, description: Description) -> int | None:
        """The one object the description clearly picks, or None."""
        if description not in self._resolved:
            self._resolved[description] = self._pick(description)
        return self._resolved[description]

    def _pick(self, description: Description) -> int | None:
        candidates = self._matching(description.attributes)
        if description.position is not None:
            return self._extreme(candidates, description.position)
        if description.relation is not None:
            return self._related(candidates, description.relation, description.landmark_index)
        return candidates[0] if len(candidates) == 1 else None

    def _matching(self, attributes: tuple[tuple[str, str], ...]) -> list[int]:
        """The objects that have all the stated attributes."""
        if attributes not in self._matches:
            self._matches[attributes] = [i for i, o in enumerate(self.objects) if all(o.attribute(name) == value for name, value in attributes)]
        return self._matches[attributes]

    def _expressions(self, target: int, landmarks: dict[int, Description], rng: np.random.Generator) -> list[str]:
        preferred: list[Description] = []
        fallback: list[Description] = []
        for description in self._variants(target, landmarks):
            if self.resolve(description) == target:
                best = bool(description.attributes) and self._every_part_needed(description, target)
                (preferred if best else fallback).append(description)
        wanted = int(rng.integers(1, _MAX_EXPRESSIONS + 1))
        chosen = _varied(preferred, wanted, rng)
        return [d.text() for d in chosen + _varied(fallback, wanted - len(chosen), rng)]

    def _variants(self, target: int, landmarks: dict[int, Description]) -> list[Description]:
        """Every description of the target the grammar allows, true or not."""
        variants = []
        for names in _SUBSETS:
            stated = tuple((name, self.objects[target].attribute(name)) for name in names)
            variants.append(Description(stated))
            variants += [Description(stated, position=position) for position in POSITIONS]
            for index, landmark in landmarks.items():
                if index != target:
                    variants += [Description(stated, None, relation, index, landmark) for relation in RELATIONS]
        return variants

    def _every_part_needed(self, description: Description, target: int) -> bool:
        shorter = [description.without(name) for name, _ in description.attributes]
        if description.position is not None or description.relation is not None:
            shorter.append(description.attributes_only())
        return all(self.resolve(candidate) != target for candidate in shorter)

    def _landmark(self, index: int, rng: np.random.Generator) -> Description | None:
        """A shortest attribute-only description that picks this object, if any (chosen at random)."""
        for count in range(1, len(ATTRIBUTES) + 1):
            unique = [Description(tuple((name, self.objects[index].attribute(name)) for name in names)) for names in combinations(ATTRIBUTES, count)]
            unique = [description for description in unique if self.resolve(description) == index]
            if unique:
                return unique[int(rng.integers(len(unique)))]
        return None

    def _extreme(self, candidates: list[int], position: str) -> int | None:
        if len(candidates) < 2:
            return None  # a position is only spoken to tell candidates apart
        ranked = sorted(candidates, key=lambda i: self._position_key(i, position))
        best, runner_up = (self._position_key(i, position) for i in ranked[:2])
        if runner_up - best < self.position_gap or not self._in_part(ranked[0], position):
            return None
        return ranked[0]

    def _in_part(self, index: int, position: str) -> bool:
        """Whether the object lies in the part of the image the position names."""
        x, y = self.centres[index]
        half = self.size / 2
        if position == "in the middle":
            return self._position_key(index, position) <= half / 2
        sides = {"on the left": x < half, "on the right": x > half, "at the top": y < half, "at the bottom": y > half}
        return sides[position]

    def _position_key(self, index: int, position: str) -> float:
        x, y = self.centres[index]
        keys = {"on the left": x, "on the right": -x, "at the top": y, "at the bottom": -y}
        if position in keys:
            return keys[position]
        return float(np.hypot(x - self.size / 2, y - self.size / 2))  # "in the middle"

    def _related(self, candidates: list[int], relation: str, landmark: int | None) -> int | None:
        pool = [i for i in candidates if i != landmark]
        depth = [self._cone_depth(i, landmark, relation) for i in pool]
        if not pool or any(abs(value) < self.cone_margin for value in depth):
            return None
        inside = [i for i, value in zip(pool, depth) if value > 0]
        return inside[0] if len(inside) == 1 else None

    def _cone_depth(self, index: int, landmark: int, relation: str) -> float:
        """How far inside (> 0) or outside (< 0) the landmark's cone for `relation` the object lies."""
        (x, y), (lx, ly) = self.centres[index], self.centres[landmark]
        along = {"left of": lx - x, "right of": x - lx, "above": ly - y, "below": y - ly}[relation]
        across = abs(y - ly) if relation in ("left of", "right of") else abs(x - lx)
        return along - across


def _varied(descriptions: list[Description], count: int, rng: np.random.Generator) -> list[Description]:
    """Up to `count` descriptions at random, of different kinds (attributes, position, relation) first.

    Positions outnumber the other kinds among the variants; drawing kinds in turn keeps the dataset
    from being mostly "the ... on the left".
    """
    kinds: dict[str, list[Description]] = {}
    for description in descriptions:
        kind = "position" if description.position else "relation" if description.relation else "attributes"
        kinds.setdefault(kind, []).append(description)
    queues = [[group[i] for i in rng.permutation(len(group))] for group in kinds.values()]
    queues = [queues[i] for i in rng.permutation(len(queues))]
    longest = max(map(len, queues), default=0)
    interleaved = [queue[rank] for rank in range(longest) for queue in queues if rank < len(queue)]
    return interleaved[: max(count, 0)]
