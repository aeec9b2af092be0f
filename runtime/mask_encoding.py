"""COCO's compressed RLE and boxes of binary masks, in numpy (no pycocotools in a deployment).

The encoding is pycocotools' `encode` exactly, and `decode_rle` reads it back: column-major runs starting with a run of zeros,
each count written as 5-bit groups with a continuation bit, delta-coded from the count two back,
as printable characters offset by 48.
"""

from __future__ import annotations

import numpy as np


def encode_rle(mask: np.ndarray) -> dict:
    """bool (H, W) -> {"size": [H, W], "counts": str}, as pycocotools.mask.encode gives."""
    height, width = mask.shape
    flat = np.asarray(mask, dtype=bool).reshape(-1, order="F")
    changes = np.flatnonzero(np.diff(flat.astype(np.int8))) + 1
    bounds = np.concatenate([[0], changes, [flat.size]])
    counts = np.diff(bounds).tolist()
    if flat.size and flat[0]:
        counts = [0] + counts
    return {"size": [int(height), int(width)], "counts": _compress(counts)}


def _compress(counts: list[int]) -> str:
    characters = []
    for index, count in enumerate(counts):
        value = count - counts[index - 2] if index > 2 else count
        more = True
        while more:
            chunk = value & 0x1F
            value >>= 5
            more = not ((chunk & 0x10 == 0 and value == 0) or (chunk & 0x10 != 0 and value == -1))
            if more:
                chunk |= 0x20
            characters.append(chr(chunk + 48))
    return "".join(characters)


def mask_box(mask: np.ndarray) -> list[int]:
    """[x, y, width, height] of the mask's pixels (COCO's box), zeros for an empty mask."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        return [0, 0, 0, 0]
    return [int(cols[0]), int(rows[0]), int(cols[-1] - cols[0] + 1), int(rows[-1] - rows[0] + 1)]


def decode_rle(rle: dict) -> np.ndarray:
    """The bool (H, W) mask of a COCO compressed RLE (the inverse of encode_rle)."""
    height, width = rle["size"]
    counts = _uncompress(rle["counts"])
    flat = np.zeros(height * width, dtype=bool)
    position = 0
    for index, count in enumerate(counts):
        if index % 2:
            flat[position : position + count] = True
        position += count
    if position != height * width:
        raise ValueError(f"RLE counts cover {position} pixels, not {height} x {width}")
    return flat.reshape((height, width), order="F")


def _uncompress(text: str) -> list[int]:
    counts: list[int] = []
    position = 0
    while position < len(text):
        value, shift, more = 0, 0, True
        while more:
            chunk = ord(text[position]) - 48
            value |= (chunk & 0x1F) << shift
            more = bool(chunk & 0x20)
            position += 1
            shift += 5
            if not more and chunk & 0x10:
                value |= -1 << shift  # sign-extend the last group
        if len(counts) > 2:
            value += counts[-2]
        counts.append(value)
    return counts
