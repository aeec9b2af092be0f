"""The words of the synthetic dataset and what they look like.

Colours are saturated and far apart in RGB, and backgrounds are kept muted (background_texture.py),
so that colour alone never needs a second look; the two sizes differ by a factor of about two.
"""

from __future__ import annotations

SHAPES = ("circle", "square", "triangle", "star", "hexagon", "cross")

COLOURS = {
    "red": (220, 30, 30),
    "green": (30, 170, 50),
    "blue": (30, 70, 225),
    "yellow": (240, 220, 30),
    "purple": (145, 45, 200),
    "orange": (250, 135, 20),
}

# Circumradius in pixels for a 256-pixel image, so objects span about 48-108 pixels: 3 to 7 of the
# 16-pixel patches of a ViT at 256. Half that (the first version) left the small ones 2 patches wide, where
# even a perfect 16x16 occupancy map, upsampled, scores poorly: no S/16 model could do much better
# (docs/training.md, Datasets).
SIZES = {"small": (24.0, 30.0), "big": (44.0, 54.0)}

ATTRIBUTES = ("size", "colour", "shape")  # the order in which they are spoken: "the big red circle"

NOUN_WITHOUT_SHAPE = "shape"  # "the big red shape" when the shape is not named

# Absolute positions, spoken after the noun; each picks the extreme of the matching objects.
POSITIONS = ("on the left", "on the right", "at the top", "at the bottom", "in the middle")

# Relations to a landmark object, spoken between the noun and the landmark's description.
RELATIONS = ("left of", "right of", "above", "below")
