"""Shared click options: the setting vocabulary (docs/DESIGN.md) and config resolution."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

# (flag, type, help) for every setting key; the TOML key is the flag with '-' -> '_'.
SETTING_FLAGS: tuple[tuple[str, Any, str], ...] = (
    ("--space", str, "latent space: sphere | box | unbounded"),
    ("--dim", int, "latent dimension n"),
    ("--radius", float, "sphere radius"),
    ("--box-low", float, "lower bound of the box"),
    ("--box-high", float, "upper bound of the box"),
    ("--marginal", str, "p(z): uniform | normal | laplace | gennorm"),
    ("--marginal-scale", float, "scale of p(z)"),
    ("--marginal-p", float, "shape p of a gennorm marginal"),
    ("--conditional", str, "p(z~|z): vmf | normal | laplace | gennorm"),
    ("--conditional-scale", float, "kappa for vmf, else sigma/lambda"),
    ("--conditional-p", float, "shape p of a gennorm conditional"),
    ("--mixing-layers", int, "layers of the mixing g"),
    ("--loss", str, "cosine | lp | ntxent | align-uniform"),
    ("--model-p", float, "exponent p of the lp loss"),
    ("--tau", float, "temperature"),
    ("--head", str, "encoder head: sphere | learnable-sphere | box | none"),
)


def experiment_options(func: Callable) -> Callable:
    """Add ``--preset`` and ``--config`` (the experiment's base; setting flags override it)."""
    func = click.option(
        "--config",
        "config_file",
        type=click.Path(path_type=Path),
        default=None,
        help="TOML config (e.g. RUN_DIR/config.toml); flags override it",
    )(func)
    return click.option("--preset", default=None, help="named experiment (see `tfclica presets`)")(
        func
    )


def setting_options(func: Callable) -> Callable:
    """Add every setting flag (default: taken from the preset/config) to a command."""
    for flag, type_, help_ in reversed(SETTING_FLAGS):
        func = click.option(flag, type=type_, default=None, help=help_)(func)
    return func


def setting_overrides(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Pop the setting flags out of a command's kwargs, keeping the ones given."""
    keys = [flag[2:].replace("-", "_") for flag, _, _ in SETTING_FLAGS]
    return {k: v for k in keys if (v := kwargs.pop(k, None)) is not None}


def resolve_config(preset: str | None, config_file: Path | None, overrides: dict[str, Any]):
    """The validated config: a preset (default ``default``), then ``--config`` TOML, then flags.

    A TOML file written by a run is fully resolved, so its own ``preset`` key only labels it;
    the base is the named preset only when ``--preset`` is given or no file is.
    """
    from tfclica.config import ExperimentConfig, parse_toml
    from tfclica.errors import ConfigError
    from tfclica.presets import get_preset

    values: dict[str, Any] = {}
    if config_file is not None:
        try:
            values = parse_toml(Path(config_file).read_text(), str(config_file))
        except OSError as err:
            raise ConfigError(f"--config {config_file}: {err.strerror}") from None
    if preset is not None or config_file is None:
        base = get_preset(preset or "default").config
        values.pop("preset", None)
    else:
        base = ExperimentConfig()
    return base.replace(**values).replace(**overrides)
