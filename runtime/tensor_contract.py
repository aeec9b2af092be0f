"""The tensor contract (docs/design.md): the four stages, their tensor names, dtypes and symbolic shapes.

One name means one tensor everywhere: the model's stage methods, the ONNX graphs, the TensorRT
engines and every runtime backend. Shapes use the dynamic axes N (images), B (expressions) and
L (text length, 1..max words); the feature sizes come from the graph itself.
"""

from __future__ import annotations

STAGES = ("image_encoder", "text_encoder", "fusion", "decoder")
END_TO_END = "haris"  # the whole model in one graph, for users who want a single file
GRAPHS = (*STAGES, END_TO_END)
IMAGE_FEATS = ("image_feats_1", "image_feats_2", "image_feats_3")
TEXT_FEATS = ("word_feats", "sentence_feat", "text_mask")

STAGE_INPUTS: dict[str, tuple[str, ...]] = {
    "image_encoder": ("image",),
    "text_encoder": ("text_tokens",),
    "fusion": (*IMAGE_FEATS, *TEXT_FEATS),
    "decoder": ("vis_tokens", "lang_tokens", "text_mask"),
    END_TO_END: ("image", "text_tokens"),
}
STAGE_OUTPUTS: dict[str, tuple[str, ...]] = {
    "image_encoder": IMAGE_FEATS,
    "text_encoder": TEXT_FEATS,
    "fusion": ("vis_tokens", "lang_tokens"),
    "decoder": ("mask_logits",),
    END_TO_END: ("mask_logits",),
}

# Everything not listed is float32 at the stage boundaries, also in FP16 graphs (FP32 I/O).
TENSOR_DTYPES = {"text_tokens": "int32", "text_mask": "bool"}

# Which dim of each tensor is dynamic, and under which name.
DYNAMIC_DIMS: dict[str, dict[int, str]] = {
    "image": {0: "N"},
    **{name: {0: "N"} for name in IMAGE_FEATS},
    "text_tokens": {0: "B", 1: "L"},
    "word_feats": {0: "B", 1: "L"},
    "sentence_feat": {0: "B"},
    "text_mask": {0: "B", 1: "L"},
    "vis_tokens": {0: "B"},
    "lang_tokens": {0: "B", 1: "L"},
    "mask_logits": {0: "B"},
}


TENSOR_RANKS = {
    "image": 4,
    **dict.fromkeys(IMAGE_FEATS, 4),
    "text_tokens": 2,
    "word_feats": 3,
    "sentence_feat": 2,
    "text_mask": 2,
    "vis_tokens": 4,
    "lang_tokens": 3,
    "mask_logits": 4,
}


def tensor_dtype(name: str) -> str:
    return TENSOR_DTYPES.get(name, "float32")
