"""The shipped example scenes are what the synthetic generator draws, each with expressions."""

from __future__ import annotations

import numpy as np

from haris.app.example_scenes import load_example_scenes, read_pixels, write_example_scenes


def test_shipped_scenes_match_the_generator(tmp_path):
    shipped = load_example_scenes()
    fresh = write_example_scenes(tmp_path)
    assert len(shipped) == len(fresh) == 4
    for ours, theirs in zip(shipped, fresh):
        assert ours.expressions == theirs.expressions and len(ours.expressions) >= 2
        assert np.array_equal(read_pixels(ours.image), read_pixels(theirs.image))
        assert ours.image.stat().st_size < 100_000  # small files in git
