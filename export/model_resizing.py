"""A model re-targeted to another input size S, for `haris export --image-size`.

Only the absolute position embedding depends on S (SAM's relative-position tables are resized on
the fly by its own attention code), so the model is rebuilt at the new size and given the same
weights with that one table resized bicubically, as when SAM weights are read at S != 1024.
"""

from __future__ import annotations

import dataclasses

from haris.errors import ExportError
from haris.modeling.haris_model import Haris
from haris.modeling.image_encoder import resize_pos_embed
from haris.modeling.model_builder import build_model

POS_EMBED_KEY = "image_encoder.vit.pos_embed"


def model_at_image_size(model: Haris, image_size: int | None) -> Haris:
    """`model` itself when the size is unchanged; otherwise a copy at `image_size`, in eval mode."""
    if image_size is None or image_size == model.config.image_size:
        return model
    if image_size <= 0 or image_size % 16:
        raise ExportError(f"--image-size must be a positive multiple of 16, got {image_size}")
    resized = build_model(dataclasses.replace(model.config, image_size=image_size), sizes=model.encoder_sizes)
    state = model.state_dict()
    if POS_EMBED_KEY in state:
        state[POS_EMBED_KEY] = resize_pos_embed(state[POS_EMBED_KEY], image_size // 16)
    resized.load_state_dict(state)
    return resized.eval()
