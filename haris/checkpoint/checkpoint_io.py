"""A HARIS checkpoint is a directory that carries its own config (nanoGPT-style):

config.yaml        the ModelConfig
model.safetensors  every weight, encoders included, so nothing else is needed to rebuild it
checkpoint.json    format version, haris version, sha256 of the weights, and the encoders'
                   resolved sizes (so rebuilding never consults the installed open_clip's
                   model table, which may have changed; older checkpoints without them are
                   resolved from their config)
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import torch
import yaml
from safetensors.torch import load_file, save_file

from haris import __version__
from haris.checkpoint.atomic_directory import atomic_directory
from haris.config.config_io import config_from_dict, write_config_file
from haris.config.model_config import ModelConfig
from haris.errors import CheckpointError, ConfigError
from haris.file_digest import file_sha256
from haris.modeling.encoder_sizes import EncoderSizes
from haris.modeling.haris_model import Haris
from haris.modeling.model_builder import build_model
from haris.modeling.state_dict_check import load_fitting_state_dict

CHECKPOINT_FORMAT_VERSION = 1
CONFIG_FILE, WEIGHTS_FILE, META_FILE = "config.yaml", "model.safetensors", "checkpoint.json"


def save_checkpoint(model: Haris, directory: str | Path, extra_files: Mapping[str, bytes] | None = None) -> Path:
    """Write `model` to `directory` atomically (an existing checkpoint there is replaced whole).

    `extra_files` (name -> content) land in the same directory in the same atomic step; training
    puts its optimizer and progress state there.
    """
    state = {key: tensor.detach().contiguous().cpu() for key, tensor in model.state_dict().items()}
    with atomic_directory(directory) as staging:
        for name, content in (extra_files or {}).items():
            (staging / name).write_bytes(content)
        write_config_file(model.config, staging / CONFIG_FILE)
        save_file(state, str(staging / WEIGHTS_FILE))
        meta = {
            "format_version": CHECKPOINT_FORMAT_VERSION,
            "haris_version": __version__,
            "weights_sha256": file_sha256(staging / WEIGHTS_FILE),
            "encoder_sizes": (model.encoder_sizes or EncoderSizes.resolve(model.config)).to_dict(),
        }
        (staging / META_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    return Path(directory)


def load_checkpoint(directory: str | Path, device: str | torch.device = "cpu") -> Haris:
    """Rebuild the model from the checkpoint directory alone, in eval mode."""
    directory = Path(directory)
    config = read_checkpoint_config(directory)
    meta = read_checkpoint_meta(directory)
    weights = directory / WEIGHTS_FILE
    if not weights.is_file():
        raise CheckpointError(f"checkpoint {directory} has no {WEIGHTS_FILE}")
    if file_sha256(weights) != meta.get("weights_sha256"):
        raise CheckpointError(f"{weights} does not match the sha256 in {META_FILE}: the file is altered or incomplete")
    sizes = EncoderSizes.from_dict(meta["encoder_sizes"]) if "encoder_sizes" in meta else None
    model = build_model(config, sizes=sizes)
    load_fitting_state_dict(model, load_file(str(weights)), f"weights of checkpoint {directory}")
    return model.to(device).eval()


def read_checkpoint_config(directory: str | Path) -> ModelConfig:
    path = Path(directory) / CONFIG_FILE
    if not path.is_file():
        raise CheckpointError(f"{directory} is not a HARIS checkpoint directory (no {CONFIG_FILE})")
    try:
        return config_from_dict(ModelConfig, yaml.safe_load(path.read_text(encoding="utf-8")) or {})
    except (ConfigError, yaml.YAMLError) as error:
        raise CheckpointError(f"checkpoint config {path} is invalid: {error}") from None


def read_checkpoint_meta(directory: str | Path) -> dict:
    path = Path(directory) / META_FILE
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise CheckpointError(f"checkpoint {directory} has no readable {META_FILE}: {error}") from None
    if meta.get("format_version", 0) > CHECKPOINT_FORMAT_VERSION:
        raise CheckpointError(
            f"checkpoint {directory} has format {meta['format_version']}; this haris {__version__} reads up to {CHECKPOINT_FORMAT_VERSION}"
        )
    return meta


def resolve_checkpoint(path: str | Path) -> Path:
    """A checkpoint directory, or a run directory (its best/, else its last/ checkpoint)."""
    path = Path(path)
    for candidate in (path, path / "best", path / "last"):
        if (candidate / CONFIG_FILE).is_file():
            return candidate
    raise CheckpointError(f"no checkpoint in {path} (looked for {CONFIG_FILE} there, in best/ and in last/)")
