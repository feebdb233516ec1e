"""YAML configs validated into typed dataclasses.

Unknown keys and wrong types are rejected with a message that names the key and the file, so a
typo in a threshold never silently falls back to a default.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

import yaml

T = TypeVar("T")


class ConfigError(ValueError):
    """A config file or value that cannot be used; the message names the file and key."""


def read_yaml_mapping(path: str | Path) -> dict:
    """A YAML file whose top level is a mapping; a one-line ConfigError otherwise."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level, got {type(raw).__name__}")
    return raw


def load_config(path: str | Path, cls: type[T], overrides: dict | None = None) -> T:
    """Read a YAML file into dataclass `cls`, applying `overrides` (top-level keys) on top."""
    raw = read_yaml_mapping(path)
    raw.update({k: v for k, v in (overrides or {}).items() if v is not None})
    return from_dict(cls, raw, where=str(path))


def from_dict(cls: type[T], data: dict, where: str = "<config>", prefix: str = "") -> T:
    """Build dataclass `cls` from a mapping, recursively, rejecting unknown keys."""
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: {prefix or 'top level'} must be a mapping, got {type(data).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ConfigError(f"{where}: unknown key {prefix + unknown[0]!r} "
                          f"(known: {', '.join(sorted(fields))})")
    hints = typing.get_type_hints(cls)
    values = {name: _coerce(hints[name], value, where, prefix + name) for name, value in data.items()}
    try:
        return cls(**values)
    except TypeError as exc:
        raise ConfigError(f"{where}: {exc}") from None


def to_dict(obj: Any) -> Any:
    """A dataclass config as plain data (for manifests and hashing)."""
    return dataclasses.asdict(obj) if dataclasses.is_dataclass(obj) else obj


def _coerce(hint: Any, value: Any, where: str, key: str) -> Any:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        options = [a for a in args if a is not type(None)]
        errors = []
        for option in options:
            try:
                return _coerce(option, value, where, key)
            except ConfigError as exc:
                errors.append(str(exc))
        raise ConfigError(errors[0])
    if dataclasses.is_dataclass(hint):
        return from_dict(hint, value, where, key + ".")
    if origin in (list, tuple):
        if not isinstance(value, list):
            raise ConfigError(f"{where}: {key} must be a list, got {type(value).__name__}")
        item = args[0] if args else Any
        items = [_coerce(item, v, where, f"{key}[{i}]") for i, v in enumerate(value)]
        return items if origin is list else tuple(items)
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: {key} must be a mapping, got {type(value).__name__}")
        value_type = args[1] if len(args) == 2 else Any
        return {k: _coerce(value_type, v, where, f"{key}.{k}") for k, v in value.items()}
    if hint is Any:
        return value
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if hint in (int, float, str, bool) and not (isinstance(value, hint) and
                                                 not (hint is int and isinstance(value, bool))):
        raise ConfigError(f"{where}: {key} must be {hint.__name__}, got {value!r}")
    return value
