"""Textured backgrounds for synthetic scenes: smooth noise, stripes or gradients between muted colours.

Muted (low-saturation) colours keep every object colour distinct from the ground, while the texture
denies a model the shortcut "whatever is not flat is an object". Textures are smooth rather than
per-pixel grain so that PNG files stay small.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

_KINDS = ("noise", "stripes", "gradient")
_MIN_CONTRAST = 45.0


def paint_background(rng: np.random.Generator, size: int) -> np.ndarray:
    """A (size, size, 3) float32 RGB background in [0, 255]."""
    kind = _KINDS[int(rng.integers(len(_KINDS)))]
    if kind == "noise":
        weight = 0.65 * _smooth_noise(rng, size, cell=size / 4) + 0.35 * _smooth_noise(rng, size, cell=size / 24)
    elif kind == "stripes":
        weight = 0.5 + 0.5 * np.sin(2 * np.pi * _ramp(rng, size) * rng.uniform(4, 14) + rng.uniform(0, 2 * np.pi))
    else:
        weight = _ramp(rng, size)
        weight = (weight - weight.min()) / max(float(weight.max() - weight.min()), 1e-6)
    first, second = _muted_pair(rng)
    return first + (second - first) * weight[..., None]


def _muted_pair(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Two low-saturation colours at least _MIN_CONTRAST grey levels apart, so no texture looks flat."""
    while True:
        greys = rng.uniform(60, 200, size=2)
        if abs(greys[0] - greys[1]) >= _MIN_CONTRAST:
            break
    tinted = [np.clip(grey + rng.uniform(-22, 22, size=3), 0, 255) for grey in greys]
    return tinted[0].astype(np.float32), tinted[1].astype(np.float32)


def _ramp(rng: np.random.Generator, size: int) -> np.ndarray:
    """Position along a random direction, in image widths (0 at one corner)."""
    angle = rng.uniform(0, np.pi)
    coords = np.arange(size, dtype=np.float32) / size
    return (coords[None, :] * np.cos(angle) + coords[:, None] * np.sin(angle)).astype(np.float32)


def _smooth_noise(rng: np.random.Generator, size: int, cell: float) -> np.ndarray:
    """Random values on a grid of `cell`-pixel cells, bicubically interpolated, in [0, 1]."""
    cells = max(2, int(np.ceil(size / cell)) + 1)
    grid = rng.random((cells, cells), dtype=np.float32)
    image = Image.fromarray(grid).resize((size, size), Image.Resampling.BICUBIC)
    return np.clip(np.asarray(image, dtype=np.float32), 0.0, 1.0)
