"""Drawing synthetic scenes, with each object's COCO annotation derived from the very pixels painted.

Each object's mask is computed first (pycocotools for polygons, an exact disc test for circles) and
the object is painted through that mask, so the annotation and the image can never disagree at a
boundary pixel. Polygonal shapes are annotated as polygons and circles (which have no exact
outline) as a list of one compressed RLE: both are layouts the refer API's getMask reads, so a
peer's RefCOCO loader reads the synthetic set too, and the data exercises both of our loader's.
"""

from __future__ import annotations

import numpy as np
from pycocotools import mask as coco_mask

from haris.data.synthetic.background_texture import paint_background
from haris.data.synthetic.scene_object import SceneObject
from haris.data.synthetic.vocabulary import COLOURS

_STAR_INNER = 0.45  # inner radius of the star's points, as a fraction of the outer one
_CROSS_ARM = 0.33  # half-width of the cross's arms, as a fraction of the radius
_SHADE = 18.0  # a gentle light-to-dark ramp across each object, so that fills are not perfectly flat


class ShapeRenderer:
    """Renders a list of non-overlapping SceneObjects on a textured background."""

    def __init__(self, image_size: int) -> None:
        self.size = image_size
        pixel_centres = np.arange(image_size, dtype=np.float32) + 0.5
        self.xs, self.ys = np.meshgrid(pixel_centres, pixel_centres)

    def render(self, objects: list[SceneObject], rng: np.random.Generator) -> tuple[np.ndarray, list[dict]]:
        """The uint8 (S, S, 3) image and, per object, {"segmentation", "bbox", "area"} in COCO form."""
        image = paint_background(rng, self.size)
        annotations = []
        for scene_object in objects:
            mask, segmentation = self._mask(scene_object)
            image[mask] = self._fill(scene_object, mask)
            rle = coco_mask.encode(np.asfortranarray(mask.astype(np.uint8)))
            bbox = [round(float(v), 2) for v in coco_mask.toBbox(rle)]
            annotations.append({"segmentation": segmentation, "bbox": bbox, "area": int(coco_mask.area(rle))})
        return np.clip(np.rint(image), 0, 255).astype(np.uint8), annotations

    def _mask(self, scene_object: SceneObject) -> tuple[np.ndarray, object]:
        if scene_object.shape == "circle":
            inside = np.hypot(self.xs - scene_object.centre_x, self.ys - scene_object.centre_y) <= scene_object.radius
            rle = coco_mask.encode(np.asfortranarray(inside.astype(np.uint8)))
            return inside, [{"size": [self.size, self.size], "counts": rle["counts"].decode("ascii")}]
        polygon = [round(float(v), 2) for v in self._vertices(scene_object).ravel()]
        rles = coco_mask.frPyObjects([polygon], self.size, self.size)
        return coco_mask.decode(rles)[:, :, 0] > 0, [polygon]

    def _vertices(self, scene_object: SceneObject) -> np.ndarray:
        """(N, 2) x, y vertices of a polygonal shape around its centre."""
        local = _unit_vertices(scene_object.shape) * scene_object.radius
        cos, sin = np.cos(scene_object.rotation), np.sin(scene_object.rotation)
        turned = local @ np.array([[cos, sin], [-sin, cos]])
        return turned + np.array([scene_object.centre_x, scene_object.centre_y])

    def _fill(self, scene_object: SceneObject, mask: np.ndarray) -> np.ndarray:
        """The colours of the object's pixels (those of `mask`), shaded along the diagonal."""
        offset = self.xs[mask] - scene_object.centre_x + self.ys[mask] - scene_object.centre_y
        along = offset / (2 * scene_object.radius)
        colour = np.array(COLOURS[scene_object.colour], dtype=np.float32)
        return colour + _SHADE * along[:, None]


def _unit_vertices(shape: str) -> np.ndarray:
    """Vertices on or inside the unit circle, y pointing down as in images."""
    if shape == "square":
        return _ring(4, start=np.pi / 4)
    if shape == "triangle":
        return _ring(3, start=-np.pi / 2)
    if shape == "hexagon":
        return _ring(6, start=0.0)
    if shape == "star":
        radii = np.tile([1.0, _STAR_INNER], 5)[:, None]
        return _ring(10, start=-np.pi / 2) * radii
    if shape == "cross":
        arm, reach = _CROSS_ARM, float(np.sqrt(1 - _CROSS_ARM**2))
        quarter = np.array([[-arm, -reach], [arm, -reach], [arm, -arm]])
        quarter_turn = np.array([[0.0, 1.0], [-1.0, 0.0]])
        return np.concatenate([quarter @ np.linalg.matrix_power(quarter_turn, k) for k in range(4)])
    raise ValueError(f"no vertices for the shape '{shape}'")


def _ring(count: int, start: float) -> np.ndarray:
    angles = start + 2 * np.pi * np.arange(count) / count
    return np.stack([np.cos(angles), np.sin(angles)], axis=1)
