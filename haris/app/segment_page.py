"""The page: an image and expressions in; the coloured masks, a table and downloads out.

Errors a visitor can cause (no image, a file that is not an image, no expression, too many)
come back as Gradio error messages that name the problem; anything else shows Gradio's plain
"Error" (the traceback stays in the server's log, never on the page).
"""

from __future__ import annotations

import functools
import os
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # before gradio reads it: no calls home

import gradio as gr  # noqa: E402
import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from haris.app.answer_files import write_answer_files  # noqa: E402
from haris.app.answer_source import AnswerSource  # noqa: E402
from haris.app.answer_view import TABLE_HEADERS, draw_answer, extract_masks, table_rows  # noqa: E402
from haris.app.example_scenes import ExampleScene  # noqa: E402
from haris.app.expression_text import parse_expressions  # noqa: E402
from haris.errors import HarisError  # noqa: E402
from haris.runtime.answer_json import encode_answer  # noqa: E402
from haris.runtime.image_loading import ImageError, load_rgb  # noqa: E402

TITLE = "HARIS: referring image segmentation"
COLUMN_WIDTHS = ["7%", "12%", "36%", "11%", "11%", "23%"]  # of TABLE_HEADERS: the box fits, the expression wraps
INTRO = "Upload an image (or pick an example below), type one expression per line, and press **Segment**: each expression gets its own colour."


def segment_request(
    source: AnswerSource, max_expressions: int, files_root: Path, image_path: str | None, text: str | None
) -> tuple[Image.Image, list[list[Any]], list[str], str]:
    """The Segment button: (overlay with legend, table rows, download paths, timing line), or a
    gr.Error whose message names what the visitor must change."""
    try:
        rgb = _read_image(image_path)
        expressions = parse_expressions(text, max_expressions)
        start = time.perf_counter()
        predictions = source.segment(rgb, expressions)
        seconds = time.perf_counter() - start
        masks = extract_masks(predictions, rgb.shape)
    except HarisError as error:
        raise gr.Error(str(error), title="Cannot segment") from None
    answer = encode_answer(source.description, rgb.shape, predictions)
    files = write_answer_files(files_root, answer, masks)
    timing = f"{len(expressions)} expression{'s' if len(expressions) > 1 else ''} answered in {seconds * 1000:.0f} ms"
    return draw_answer(rgb, answer, masks), table_rows(answer), [str(path) for path in files], timing


def build_page(source: AnswerSource, examples: list[ExampleScene], max_expressions: int, files_root: Path) -> gr.Blocks:
    """The Blocks of the page; answers write their downloads under `files_root`."""
    # delete_cache: uploads and answers older than an hour go, checked hourly, and all of them when the page stops.
    with gr.Blocks(title="HARIS", analytics_enabled=False, delete_cache=(3600, 3600)) as page:
        gr.Markdown(f"# {TITLE}\n{INTRO}")
        gr.Markdown(source.summary(), elem_id="model-line")
        with gr.Row():
            with gr.Column():
                image = gr.Image(label="Image", type="filepath", image_mode=None, sources=["upload", "clipboard"], elem_id="image-input")
                image.preprocess = _uploaded_path  # this one input only; see _uploaded_path
                text = gr.Textbox(label=f"Expressions, one per line (at most {max_expressions})", lines=4, elem_id="expressions")
                button = gr.Button("Segment", variant="primary", elem_id="segment")
                if examples:
                    gr.Examples([[str(scene.image), "\n".join(scene.expressions)] for scene in examples], [image, text], label="Example scenes")
            with gr.Column():
                overlay = gr.Image(label="Masks", type="pil", format="png", interactive=False, elem_id="overlay")
                timing = gr.Markdown(elem_id="timing")
                table = gr.Dataframe(headers=TABLE_HEADERS, interactive=False, wrap=True, column_widths=COLUMN_WIDTHS, elem_id="results")
                downloads = gr.File(
                    label="Downloads: masks (PNG, zip) and predictions (JSON, COCO RLE)",
                    file_count="multiple",
                    interactive=False,
                    elem_id="downloads",
                )
        segment = functools.partial(segment_request, source, max_expressions, files_root)
        button.click(segment, [image, text], [overlay, table, downloads, timing], api_name="segment")
    return page


def _uploaded_path(payload: Any) -> str | None:
    """The uploaded file's path as it came. gr.Image decodes an upload itself before the handler runs,
    and a file that is not an image then fails inside Gradio with a bare "Error"; here `load_rgb`
    reads it, with its guards (decompression bombs, truncated files, EXIF orientation) and a message
    that names the problem. (Not a gr.Image subclass: Gradio writes a .pyi beside each subclass's source.)"""
    return None if payload is None else payload.path


def _read_image(path: str | None) -> np.ndarray:
    if not path:
        raise HarisError("upload an image first, or pick one of the example scenes")
    try:
        return load_rgb(path)
    except ImageError as error:
        # The message names Gradio's upload folder; the visitor knows the file by its own name.
        raise ImageError(str(error).replace(str(path), Path(path).name)) from None
