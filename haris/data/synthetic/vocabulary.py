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

# Circumradius in pixels for a 256-pixel image, so objects span about 26-60 pixels.
SIZES = {"small": (13.0, 16.0), "big": (25.0, 30.0)}

ATTRIBUTES = ("size", "colour", "shape")  # the order in which they are spoken: "the big red circle"

NOUN_WITHOUT_SHAPE = "shape"  # "the big red shape" when the shape is not named

# Absolute positions, spoken after the noun; each picks the extreme of the matching objects.
POSITIONS = ("on the left", "on the right", "at the top", "at the bottom", "in the middle")

# Relations to a landmark object, spoken between the noun and the landmark's description.
RELATIONS = ("left of", "right of", "above", "below")
