"""Named model presets: the YAML files in the top-level configs/ folder (installed as haris.configs)."""

from __future__ import annotations

import difflib
from importlib import resources
from pathlib import Path

from haris.config.config_io import apply_overrides, read_config_file
from haris.config.model_config import ModelConfig
from haris.errors import ConfigError


def list_presets() -> list[str]:
    """Names of the bundled presets, e.g. ['paper', 'paper_gref', 'tiny']."""
    folder = resources.files("haris.configs")
    return sorted(entry.name[: -len(".yaml")] for entry in folder.iterdir() if entry.name.endswith(".yaml"))


def load_model_config(preset_or_path: str | Path, overrides: list[str] | None = None) -> ModelConfig:
    """A preset name or a YAML file's path, with dotted overrides such as 'fusion.feedback=false'."""
    config = read_config_file(ModelConfig, _resolve(str(preset_or_path)))
    return apply_overrides(config, list(overrides or []))


def _resolve(preset_or_path: str) -> Path:
    if Path(preset_or_path).is_file():
        return Path(preset_or_path)
    names = list_presets()
    if preset_or_path in names:
        with resources.as_file(resources.files("haris.configs") / f"{preset_or_path}.yaml") as path:
            return path
    close = difflib.get_close_matches(preset_or_path, names, n=1)
    hint = f"did you mean '{close[0]}'?" if close else f"presets: {', '.join(names)}"
    raise ConfigError(f"no preset or config file named '{preset_or_path}'; {hint}")
