"""Named presets: the YAML files in the top-level configs/ folder (installed as haris.configs).

A preset holds a `model:` and a `train:` section. Overrides may leave out `model.`:
`fusion.feedback=false` means `model.fusion.feedback=false`.
"""

from __future__ import annotations

import difflib
from importlib import resources
from pathlib import Path

from haris.config.config_io import apply_overrides, read_config_file
from haris.config.model_config import ModelConfig
from haris.config.run_config import RunConfig
from haris.errors import ConfigError

SECTIONS = ("model.", "train.")


def list_presets() -> list[str]:
    """Names of the bundled presets, e.g. ['paper', 'paper_gref', 'tiny']."""
    folder = resources.files("haris.configs")
    return sorted(entry.name[: -len(".yaml")] for entry in folder.iterdir() if entry.name.endswith(".yaml"))


def load_run_config(preset_or_path: str | Path, overrides: list[str] | None = None) -> RunConfig:
    """A preset name or a YAML file's path, with dotted overrides such as 'train.lr=3e-4'."""
    config = read_config_file(RunConfig, _resolve(str(preset_or_path)))
    qualified = [item if item.startswith(SECTIONS) else f"model.{item}" for item in overrides or []]
    return apply_overrides(config, qualified)


def load_model_config(preset_or_path: str | Path, overrides: list[str] | None = None) -> ModelConfig:
    """The model section of a preset, with overrides relative to it ('fusion.feedback=false')."""
    return apply_overrides(read_config_file(RunConfig, _resolve(str(preset_or_path))).model, list(overrides or []))


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
