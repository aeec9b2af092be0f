"""One object of a synthetic scene, as sampled: what it is and where it sits."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SceneObject:
    """A shape inscribed in the circle (centre_x, centre_y, radius), turned by `rotation` radians."""

    shape: str
    colour: str
    size: str
    centre_x: float
    centre_y: float
    radius: float
    rotation: float

    def attribute(self, name: str) -> str:
        """The value of "size", "colour" or "shape"."""
        return {"size": self.size, "colour": self.colour, "shape": self.shape}[name]
