"""Shared click options: the setting vocabulary (docs/DESIGN.md) and config resolution."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from tfclica.config.experiment import (  # TensorFlow-free: the vocabularies live there, once
    ENCODER_NOTES,
    IMAGE_SIZES,
    LR_SCHEDULE_NOTES,
    NEGATIVES_NOTES,
    OBJECTIVE_NOTES,
    OBSERVATION_NOTES,
    OUTPUT_INIT_NOTES,
    PRECISION_NOTES,
    STOP_AT_METRICS,
    STRATEGY_NOTES,
    VOCABULARIES,
    XLA_MODE_NOTES,
)


def choice(key: str) -> click.Choice:
    """The ``click.Choice`` of config key ``key`` (values: ``config.experiment.VOCABULARIES``)."""
    return click.Choice(VOCABULARIES[key])


class WidthsType(click.ParamType):
    """Comma-separated positive layer widths (``256,256,256``); ``reference`` for the default."""

    name = "WIDTHS"

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        if str(value).strip() == "reference":
            return ()  # the config's spelling of the reference's [10n, 50n, 50n, 50n, 50n, 10n]
        try:
            widths = tuple(int(w) for w in str(value).split(","))
        except ValueError:
            widths = ()
        if not widths or any(w <= 0 for w in widths):
            self.fail(f"{value!r} is not a comma-separated list of positive integers", param, ctx)
        return widths


def notes_help(summary: str, notes: dict[str, str]) -> str:
    """``summary`` and what each value means, from a ``*_NOTES`` dict of ``config.experiment``."""
    return f"{summary} ({'; '.join(f'{value}: {note}' for value, note in notes.items())})"


# (flag, type, help) for every setting key; the TOML key is the flag with '-' -> '_'. Choice
# flags list their values in --help themselves ([sphere|box|unbounded]).
SETTING_FLAGS: tuple[tuple[str, Any, str], ...] = (
    ("--space", choice("space"), "latent space"),
    ("--dim", int, "latent dimension n"),
    ("--radius", float, "sphere radius"),
    ("--box-low", float, "lower bound of the box"),
    ("--box-high", float, "upper bound of the box"),
    (
        "--marginal",
        choice("marginal"),
        "p(z); a non-uniform one on the sphere centres at radius*e_1",
    ),
    ("--marginal-scale", float, "scale of p(z)"),
    ("--marginal-p", float, "shape p of a gennorm marginal"),
    ("--conditional", choice("conditional"), "p(z~|z)"),
    ("--conditional-scale", float, "kappa for vmf, else sigma/lambda"),
    ("--conditional-p", float, "shape p of a gennorm conditional"),
    ("--mixing-layers", int, "layers of the mixing g"),
    ("--loss", choice("loss"), "the model's InfoNCE member"),
    ("--model-p", float, "exponent p of the lp loss"),
    ("--tau", float, "temperature"),
    ("--negatives", choice("negatives"), notes_help("an lp anchor's contrast", NEGATIVES_NOTES)),
    ("--head", choice("head"), "encoder output normalisation"),
    ("--observations", choice("observations"), notes_help("observations", OBSERVATION_NOTES)),
    (
        "--image-size",
        int,
        f"rendered images' height and width ({IMAGE_SIZES[0]}..{IMAGE_SIZES[1]})",
    ),
    ("--encoder", choice("encoder"), notes_help("the encoder f", ENCODER_NOTES)),
    (
        "--encoder-widths",
        WidthsType(),
        "hidden widths of the MLP encoder, e.g. 256,256,256 (reference: the reference's "
        "[10n, 50n, 50n, 50n, 50n, 10n])",
    ),
    (
        "--dataset",
        str,
        "a 3DIdent-layout folder (images/, raw_latents.npy) to train and evaluate on instead of "
        "--observations, resized to --image-size; needs an image --encoder",
    ),
)

# How a run trains (flags of `tfclica train`), beyond --steps/--batch-size/--lr.
SCHEDULE_FLAGS: tuple[tuple[str, Any, str], ...] = (
    ("--lr-schedule", choice("lr_schedule"), notes_help("learning rate", LR_SCHEDULE_NOTES)),
    ("--warmup-steps", int, "steps of linear warmup (a warmup-* schedule)"),
    ("--lr-final-fraction", float, "a decay's last learning rate, as a fraction of --lr"),
    ("--adam-beta1", float, "Adam beta_1"),
    ("--adam-beta2", float, "Adam beta_2"),
    ("--adam-epsilon", float, "Adam epsilon"),
    ("--clip-norm", float, "clip the global gradient norm to this (0: off)"),
    ("--baseline-steps", int, "steps of the supervised baseline of --objective both (0: --steps)"),
    ("--output-init", choice("output_init"), notes_help("the output layer", OUTPUT_INIT_NOTES)),
    (
        "--stop-at",
        str,
        f"end once an evaluation reaches METRIC=VALUE, METRIC one of {', '.join(STOP_AT_METRICS)} "
        "(e.g. r2=0.99: held-out linear R^2 against the true latents; a benchmarking aid)",
    ),
)

# The run's placement and numerics (flags of train and bench).
STRATEGY_HELP = notes_help("distribution strategy", STRATEGY_NOTES)
XLA_HELP = notes_help("what the one-device step compiles", XLA_MODE_NOTES)
PRECISION_HELP = notes_help("compute dtype, loss in float32", PRECISION_NOTES)
OBJECTIVE_HELP = notes_help("what the encoder is trained on", OBJECTIVE_NOTES)


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


def _add_flags(func: Callable, flags) -> Callable:
    for flag, type_, help_ in reversed(flags):
        func = click.option(flag, type=type_, default=None, help=help_)(func)
    return func


def setting_options(func: Callable) -> Callable:
    """Add every setting flag (default: taken from the preset/config) to a command."""
    return _add_flags(func, SETTING_FLAGS)


def schedule_options(func: Callable) -> Callable:
    """Add the schedule flags (learning-rate schedule, Adam, clipping, stop-at) to a command."""
    return _add_flags(func, SCHEDULE_FLAGS)


def setting_overrides(kwargs: dict[str, Any], flags=SETTING_FLAGS) -> dict[str, Any]:
    """Pop ``flags`` (default: the setting flags) out of a command's kwargs, keeping those given."""
    keys = [flag[2:].replace("-", "_") for flag, _, _ in flags]
    return {k: v for k in keys if (v := kwargs.pop(k, None)) is not None}


def resolve_config(preset: str | None, config_file: Path | None, overrides: dict[str, Any]):
    """The validated config: a preset (default ``default``), then ``--config`` TOML, then flags.

    A TOML file written by a run is fully resolved, so its own ``preset`` key only labels it;
    the base is the named preset only when ``--preset`` is given or no file is.
    """
    from tfclica.config.experiment import ExperimentConfig, parse_toml
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
    merged = {**values, **overrides}
    steps = merged.get("steps", base.steps)
    warmup = merged.get("warmup_steps", base.warmup_steps)
    if "steps" in overrides and "warmup_steps" not in merged and warmup > steps:
        # A short run of a preset that warms up longer (`tfclica train --steps 50`) warms up
        # over all its steps rather than stopping at an error about a flag it never gave.
        overrides = {**overrides, "warmup_steps": steps}
    return base.replace(**values).replace(**overrides)
