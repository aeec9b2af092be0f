"""HARIS checkpoint directories and the readers of foreign (SAM, open_clip) weight files."""

from haris.checkpoint.checkpoint_io import file_sha256, load_checkpoint, read_checkpoint_config, save_checkpoint
from haris.checkpoint.foreign_weights import load_clip_text_weights, load_sam_weights, read_state_dict

__all__ = [
    "file_sha256",
    "load_checkpoint",
    "load_clip_text_weights",
    "load_sam_weights",
    "read_checkpoint_config",
    "read_state_dict",
    "save_checkpoint",
]
