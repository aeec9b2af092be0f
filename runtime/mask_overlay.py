"""PNG overlays for looking at predictions: the prediction tinted, the ground truth outlined.

A caption band (expression, IoU, written by the caller) sits above the image. Side-by-side
overlays put one labelled panel per prediction in a row under one shared caption. Several
expressions on one image (`haris app`) get one colour each and a legend band under the image.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

PRED_COLOUR = np.array([255, 40, 40], dtype=np.float32)
PRED_ALPHA = 0.45
GT_COLOUR = (40, 255, 40)
BAND_COLOUR = (255, 255, 255)
TEXT_COLOUR = (0, 0, 0)
PANEL_GAP = 8
# Distinct colours for several masks on one image (after Sasha Trubetskoy's list), named for tables.
MASK_PALETTE = (
    ("red", (230, 25, 75)),
    ("green", (60, 180, 75)),
    ("blue", (0, 130, 200)),
    ("orange", (245, 130, 48)),
    ("purple", (145, 30, 180)),
    ("cyan", (70, 240, 240)),
    ("magenta", (240, 50, 230)),
    ("lime", (210, 245, 60)),
    ("teal", (0, 128, 128)),
    ("brown", (170, 110, 40)),
    ("navy", (0, 0, 128)),
    ("olive", (128, 128, 0)),
)


def write_overlay(
    path: str | Path,
    image: np.ndarray,
    pred_mask: np.ndarray,
    gt_mask: np.ndarray | None,
    caption: str,
) -> None:
    """Write the image with `pred_mask` tinted, `gt_mask` outlined and `caption` above it."""
    _save(path, _with_caption(_panel(image, pred_mask, gt_mask), caption))


def write_side_by_side(
    path: str | Path,
    image: np.ndarray,
    masks: list[tuple[str, np.ndarray]],
    gt_mask: np.ndarray | None,
    caption: str,
) -> None:
    """Write one panel per (label, prediction mask), left to right, under one shared caption."""
    if not masks:
        raise ValueError("write_side_by_side needs at least one (label, mask) pair")
    panels = [_with_caption(_panel(image, mask, gt_mask), label) for label, mask in masks]
    _save(path, _with_caption(_row(panels), caption))


def mask_colour(index: int) -> tuple[str, tuple[int, int, int]]:
    """The (name, RGB) of the `index`-th mask; the palette repeats past its length (the legend's
    numbers still tell the masks apart)."""
    return MASK_PALETTE[index % len(MASK_PALETTE)]


def tint_masks(image: np.ndarray, masks: list[np.ndarray]) -> Image.Image:
    """The image with mask i tinted and outlined in `mask_colour(i)`; later masks lie over earlier
    ones, and the outlines keep an overlapped mask's edge visible."""
    for mask in masks:
        _check_inputs(image, mask, None)
    pixels = image.astype(np.float32)
    for index, mask in enumerate(masks):
        _tint(pixels, mask, np.array(mask_colour(index)[1], dtype=np.float32))
    pixels = pixels.round().astype(np.uint8)
    for index, mask in enumerate(masks):
        pixels[_outline(mask)] = mask_colour(index)[1]
    return Image.fromarray(pixels, "RGB")


def with_legend(picture: Image.Image, labels: list[str]) -> Image.Image:
    """The picture over a white band with one line per label: a swatch of `mask_colour(i)`, then the label."""
    font = _font(picture.width)
    margin = max(4, font.size // 3)
    line_height = round(font.size * 1.25)
    swatch = font.size
    text_left = 2 * margin + swatch
    rows = [_wrap(label, font, picture.width - text_left - margin) for label in labels]
    band_height = sum(len(lines) for lines in rows) * line_height + 2 * margin
    framed = Image.new("RGB", (picture.width, picture.height + band_height), BAND_COLOUR)
    framed.paste(picture, (0, 0))
    draw = ImageDraw.Draw(framed)
    top = picture.height + margin
    for index, lines in enumerate(rows):
        draw.rectangle((margin, top + 2, margin + swatch - 1, top + swatch + 1), fill=mask_colour(index)[1])
        for line in lines:
            draw.text((text_left, top), line, fill=TEXT_COLOUR, font=font)
            top += line_height
    return framed


def _panel(image: np.ndarray, pred_mask: np.ndarray, gt_mask: np.ndarray | None) -> Image.Image:
    _check_inputs(image, pred_mask, gt_mask)
    pixels = image.astype(np.float32)
    _tint(pixels, pred_mask, PRED_COLOUR)
    pixels = pixels.round().astype(np.uint8)
    if gt_mask is not None:
        pixels[_outline(gt_mask)] = GT_COLOUR
    return Image.fromarray(pixels, "RGB")


def _tint(pixels: np.ndarray, mask: np.ndarray, colour: np.ndarray) -> None:
    pixels[mask] = (1 - PRED_ALPHA) * pixels[mask] + PRED_ALPHA * colour


def _outline(mask: np.ndarray) -> np.ndarray:
    """Mask pixels with a 4-neighbour outside the mask, thickened by one pixel to stay visible."""
    padded = np.pad(mask, 1)
    interior = padded[:-2, 1:-1] & padded[2:, 1:-1] & padded[1:-1, :-2] & padded[1:-1, 2:] & mask
    edge = np.pad(mask & ~interior, 1)
    return edge[:-2, 1:-1] | edge[2:, 1:-1] | edge[1:-1, :-2] | edge[1:-1, 2:] | edge[1:-1, 1:-1]


def _with_caption(panel: Image.Image, caption: str) -> Image.Image:
    """The panel under a white band holding the caption, wrapped to the panel's width."""
    font = _font(panel.width)
    margin = max(4, font.size // 3)
    lines = _wrap(caption, font, panel.width - 2 * margin)
    line_height = round(font.size * 1.25)
    band_height = len(lines) * line_height + 2 * margin
    framed = Image.new("RGB", (panel.width, band_height + panel.height), BAND_COLOUR)
    draw = ImageDraw.Draw(framed)
    for row, line in enumerate(lines):
        draw.text((margin, margin + row * line_height), line, fill=TEXT_COLOUR, font=font)
    framed.paste(panel, (0, band_height))
    return framed


def _font(width: int) -> ImageFont.FreeTypeFont:
    # Pillow's default font scales; about 40 characters per line stays legible on any image size.
    return ImageFont.load_default(size=max(11, min(28, width // 40)))


def _wrap(text: str, font: ImageFont.FreeTypeFont, width: int) -> list[str]:
    """Lines of `text` no wider than `width` pixels; explicit newlines are kept."""
    lines = []
    for paragraph in text.splitlines() or [""]:
        chars = max(1, int(width // max(font.getlength("n"), 1.0)))
        # Guess from an average glyph, then narrow until the widest line fits.
        while True:
            wrapped = textwrap.wrap(paragraph, chars) or [""]
            if chars == 1 or max(font.getlength(line) for line in wrapped) <= width:
                break
            chars -= 1
        lines += wrapped
    return lines


def _row(panels: list[Image.Image]) -> Image.Image:
    width = sum(panel.width for panel in panels) + PANEL_GAP * (len(panels) - 1)
    row = Image.new("RGB", (width, max(panel.height for panel in panels)), BAND_COLOUR)
    left = 0
    for panel in panels:
        row.paste(panel, (left, 0))
        left += panel.width + PANEL_GAP
    return row


def _check_inputs(image: np.ndarray, pred_mask: np.ndarray, gt_mask: np.ndarray | None) -> None:
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"image must be uint8 (H, W, 3), got {image.dtype} {image.shape}")
    for name, mask in (("prediction", pred_mask), ("ground-truth", gt_mask)):
        if mask is not None and (mask.dtype != np.bool_ or mask.shape != image.shape[:2]):
            raise ValueError(f"{name} mask must be bool {image.shape[:2]} like the image, got {mask.dtype} {mask.shape}")


def _save(path: str | Path, picture: Image.Image) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    picture.save(path, format="PNG")
