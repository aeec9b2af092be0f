"""Dataclass configs to and from plain data, YAML files and dotted `key=value` overrides.

Everything is checked against the dataclass type hints, so an unknown key or a wrong type fails
with a message that names it and, for a misspelt key, suggests the nearest valid one.
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from pathlib import Path
from typing import Any, Literal, TypeVar, Union

import yaml

from haris.errors import ConfigError

ConfigT = TypeVar("ConfigT")


def config_from_dict(config_type: type[ConfigT], data: Any, prefix: str = "") -> ConfigT:
    """Build `config_type` from nested dicts; missing keys take their defaults."""
    if not isinstance(data, dict):
        raise ConfigError(f"'{prefix or 'config'}' must be a mapping, got {type(data).__name__}")
    hints = typing.get_type_hints(config_type)
    known = [f.name for f in dataclasses.fields(config_type)]
    values = {}
    for key, value in data.items():
        path = f"{prefix}{key}"
        if key not in known:
            raise _unknown_key_error(path, [prefix + name for name in known])
        values[key] = _coerce(value, hints[key], path)
    return config_type(**values)


def config_to_dict(config: Any) -> dict[str, Any]:
    """Plain nested data (tuples become lists) that `config_from_dict` reads back exactly."""
    return _to_plain(dataclasses.asdict(config))


def config_paths(config_type: type) -> list[str]:
    """Every dotted key path of a dataclass tree, e.g. 'fusion.feedback'."""
    paths = []
    for name, hint in typing.get_type_hints(config_type).items():
        if dataclasses.is_dataclass(hint):
            paths += [f"{name}.{sub}" for sub in config_paths(hint)]
        else:
            paths.append(name)
    return paths


def apply_overrides(config: ConfigT, overrides: list[str]) -> ConfigT:
    """Return a copy of `config` with `a.b.c=value` overrides applied (values parsed as YAML)."""
    data = config_to_dict(config)
    valid_paths = config_paths(type(config))
    for override in overrides:
        path, sep, raw_value = override.partition("=")
        path = path.strip()
        if not sep or not path:
            raise ConfigError(f"override '{override}' must look like key.path=value")
        _set_path(data, path, yaml.safe_load(raw_value), valid_paths)
    return config_from_dict(type(config), data)


def read_config_file(config_type: type[ConfigT], path: str | Path) -> ConfigT:
    """Read a YAML config file; an empty file means all defaults."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except yaml.YAMLError as error:
        raise ConfigError(f"config file {path} is not valid YAML: {error}") from None
    return config_from_dict(config_type, data or {})


def write_config_file(config: Any, path: str | Path) -> None:
    Path(path).write_text(yaml.safe_dump(config_to_dict(config), sort_keys=False), encoding="utf-8")


def _unknown_key_error(path: str, candidates: list[str]) -> ConfigError:
    matches = difflib.get_close_matches(path, candidates, n=1, cutoff=0.5)
    hint = f"did you mean '{matches[0]}'?" if matches else f"valid keys: {', '.join(candidates)}"
    return ConfigError(f"unknown config key '{path}'; {hint}")


def _set_path(data: dict, path: str, value: Any, valid_paths: list[str]) -> None:
    if path not in valid_paths:
        raise _unknown_key_error(path, valid_paths)
    *parents, leaf = path.split(".")
    node = data
    for key in parents:
        node = node[key]
    node[leaf] = value


def _coerce(value: Any, hint: Any, path: str) -> Any:
    origin = typing.get_origin(hint)
    if dataclasses.is_dataclass(hint):
        return config_from_dict(hint, value, prefix=f"{path}.")
    if origin is Literal:
        if value not in typing.get_args(hint):
            choices = ", ".join(repr(c) for c in typing.get_args(hint))
            raise ConfigError(f"'{path}' must be one of {choices}, got {value!r}")
        return value
    if origin in (Union, types.UnionType):
        arguments = typing.get_args(hint)
        if value is None and type(None) in arguments:
            return None
        inner = [a for a in arguments if a is not type(None)]
        return _coerce(value, inner[0], path)
    if origin is tuple:
        return _coerce_tuple(value, typing.get_args(hint), path)
    return _coerce_scalar(value, hint, path)


def _coerce_tuple(value: Any, item_hints: tuple, path: str) -> tuple:
    if not isinstance(value, (list, tuple)):
        raise ConfigError(f"'{path}' must be a list, got {value!r}")
    if len(item_hints) == 2 and item_hints[1] is Ellipsis:
        item_hints = (item_hints[0],) * len(value)
    if len(value) != len(item_hints):
        raise ConfigError(f"'{path}' must have {len(item_hints)} items, got {len(value)}")
    return tuple(_coerce(v, h, f"{path}[{i}]") for i, (v, h) in enumerate(zip(value, item_hints)))


def _coerce_scalar(value: Any, hint: type, path: str) -> Any:
    # bool is an int in Python; a config must still say true/false for a bool and a number for a number.
    if hint is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if hint is float and isinstance(value, str):  # YAML 1.1 reads "3e-4" (no dot) as a string
        try:
            return float(value)
        except ValueError:
            pass
    if isinstance(value, hint) and not (hint is int and isinstance(value, bool)):
        return value
    raise ConfigError(f"'{path}' must be {hint.__name__}, got {value!r} ({type(value).__name__})")


def _to_plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _to_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_to_plain(v) for v in value]
    return value
