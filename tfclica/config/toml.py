"""TOML for experiment configs: ``config.toml`` of a run and ``--config`` files.

Re-exported by :mod:`tfclica.config.experiment` (``to_toml``, ``parse_toml``).
"""

from __future__ import annotations

from typing import Any

import tomllib

from tfclica.errors import ConfigError


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {value!r} to TOML")


def to_toml(cfg) -> str:
    """The fully resolved config as TOML text (``encoder_widths`` resolved to a list)."""
    values = cfg.to_dict()
    values["encoder_widths"] = list(cfg.hidden_widths)
    lines = ["# tfclica experiment; rerun with: tfclica train --config THIS_FILE"]
    lines += [f"{key} = {_toml_value(value)}" for key, value in values.items()]
    return "\n".join(lines) + "\n"


def parse_toml(text: str, source: str = "config") -> dict[str, Any]:
    """Parse TOML text into override keys (hyphens accepted in place of underscores)."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{source}: invalid TOML ({err})") from None
    return {key.replace("-", "_"): value for key, value in raw.items()}
