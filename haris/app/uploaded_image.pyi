"""An image input that hands the page the uploaded file unopened."""

from __future__ import annotations

from typing import Any

import gradio as gr

from gradio.events import Dependency

class UploadedImage(gr.Image):
    """gr.Image whose value, for the handler, is the uploaded file's path as it came.

    gr.Image decodes the upload itself before the handler runs, and a file that is not an image then
    fails inside Gradio with a bare "Error". Here `load_rgb` reads the file, with its guards
    (decompression bombs, truncated files, EXIF orientation) and a message that names the problem.
    """

    def preprocess(self, payload: Any) -> str | None:
        return None if payload is None else payload.path

    def get_block_name(self) -> str:
        return "image"
    from typing import Callable, Literal, Sequence, Any, TYPE_CHECKING
    from gradio.blocks import Block
    if TYPE_CHECKING:
        from gradio.components import Timer
        from gradio.components.base import Component  # the browser side is gr.Image's