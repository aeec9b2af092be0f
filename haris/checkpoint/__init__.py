"""HARIS checkpoint directories: the model's config, weights and encoder sizes, read back with nothing else."""

from haris.checkpoint.checkpoint_io import load_checkpoint, read_checkpoint_config, save_checkpoint

__all__ = ["load_checkpoint", "read_checkpoint_config", "save_checkpoint"]
