"""Configs as frozen dataclasses, presets as YAML data."""

from haris.config.config_io import (
    apply_overrides,
    config_from_dict,
    config_paths,
    config_to_dict,
    read_config_file,
    write_config_file,
)
from haris.config.model_config import (
    DecoderConfig,
    FusionConfig,
    ImageEncoderConfig,
    ModelConfig,
    PreprocessConfig,
    TextEncoderConfig,
)
from haris.config.presets import list_presets, load_model_config, load_run_config
from haris.config.run_config import RunConfig
from haris.config.train_config import TrainConfig

__all__ = [
    "DecoderConfig",
    "FusionConfig",
    "ImageEncoderConfig",
    "ModelConfig",
    "PreprocessConfig",
    "RunConfig",
    "TextEncoderConfig",
    "TrainConfig",
    "apply_overrides",
    "config_from_dict",
    "config_paths",
    "config_to_dict",
    "list_presets",
    "load_model_config",
    "load_run_config",
    "read_config_file",
    "write_config_file",
]
