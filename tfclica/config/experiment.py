"""One experiment as a frozen dataclass, with validation and TOML load/save.

The field names are the CLI's setting vocabulary (``--marginal-scale`` is ``marginal_scale``) and
the keys of a run's ``config.toml``. Presets live in :mod:`tfclica.presets`.
"""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass
from typing import Any

from tfclica.config.toml import parse_toml, to_toml  # noqa: F401 - part of this module's API
from tfclica.config.vocabulary import (  # noqa: F401 - part of this module's API
    CONDITIONALS,
    ENCODER_NOTES,
    ENCODERS,
    HEADS,
    IMAGE_ENCODERS,
    LOSSES,
    LR_SCHEDULE_NOTES,
    LR_SCHEDULES,
    MARGINALS,
    NEGATIVES,
    NEGATIVES_NOTES,
    OBJECTIVE_NOTES,
    OBJECTIVES,
    OBSERVATION_NOTES,
    OBSERVATIONS,
    OUTPUT_INIT_NOTES,
    OUTPUT_INITS,
    PRECISION_NOTES,
    PRECISIONS,
    SPACES,
    STOP_AT_METRICS,
    STRATEGIES,
    STRATEGY_NOTES,
    VOCABULARIES,
    XLA_MODE_NOTES,
    XLA_MODES,
)
from tfclica.errors import ConfigError

# The keys that make up a schedule (how a setting is trained, not what it is): presets share
# them between a mismatched row and its matched neighbour. The MLP encoder's widths are among
# them: its size is a compute budget, tuned with the learning rate for time to score.
SCHEDULE_KEYS = (
    "encoder_widths",
    "steps",
    "batch_size",
    "lr",
    "lr_schedule",
    "warmup_steps",
    "lr_final_fraction",
    "adam_beta1",
    "adam_beta2",
    "adam_epsilon",
    "clip_norm",
    "output_init",
    "baseline_steps",
    "eval_every",
)


@dataclass(frozen=True)
class ExperimentConfig:
    """Everything that defines one run: the data-generating process, the model and the schedule.

    Attributes mirror the CLI flags of docs/DESIGN.md. ``encoder_widths=None`` (or ``()``, which
    ``replace`` passes on where it drops ``None``) means the reference's
    ``[10n, 50n, 50n, 50n, 50n, 10n]``.
    """

    preset: str = "custom"
    # Data-generating process.
    space: str = "sphere"
    dim: int = 10
    radius: float = 1.0
    box_low: float = 0.0
    box_high: float = 1.0
    marginal: str = "uniform"
    marginal_scale: float = 1.0
    marginal_p: float = 2.0
    conditional: str = "vmf"
    conditional_scale: float = 1.0
    conditional_p: float = 2.0
    mixing_layers: int = 3
    # Model.
    loss: str = "cosine"
    model_p: float = 2.0
    tau: float = 1.0
    negatives: str = "anchors"  # NEGATIVES: "positives" drops the reference's self term (lp)
    head: str = "sphere"
    encoder_widths: tuple[int, ...] | None = None
    objective: str = "unsupervised"
    # Observations and encoder: the MLP mixing g and an MLP, or rendered 3DIdent-like images
    # (image_size x image_size, 10 factors) and a convolutional encoder (OBSERVATIONS, ENCODERS).
    observations: str = "mixing"
    image_size: int = 64
    encoder: str = "mlp"
    dataset: str = ""  # a 3DIdent-layout folder to train on instead of `observations`; "" = off
    # Schedule.
    steps: int = 3000
    batch_size: int = 512
    lr: float = 1e-3
    # Defaults: a constant lr, Keras' Adam defaults, no clipping (what every result so far used).
    lr_schedule: str = "constant"
    warmup_steps: int = 0
    lr_final_fraction: float = 0.0
    adam_beta1: float = 0.9
    adam_beta2: float = 0.999
    adam_epsilon: float = 1e-7
    clip_norm: float = 0.0  # global gradient norm; 0 = off
    output_init: str = "glorot"
    # Steps of the supervised baseline of objective="both" (0: the same as steps).
    baseline_steps: int = 0
    seed: int = 0
    eval_every: int = 250
    stop_at: str = ""  # "r2=0.99" / "mcc=0.98": end once an evaluation reaches it; "" = off
    eval_samples: int = 4096
    checkpoint_every: int = 1000
    strategy: str = "auto"
    precision: str = "float32"
    xla: str = "auto"
    # Training steps per call of the compiled step (a device-side loop): fewer host round trips.
    steps_per_call: int = 50

    def __post_init__(self) -> None:
        _check_types(self)
        if self.encoder_widths is not None:  # () -> None: the reference's widths
            object.__setattr__(self, "encoder_widths", tuple(self.encoder_widths) or None)
        if self.dataset:  # absolute: config.toml finds it from any directory (a resume)
            object.__setattr__(self, "dataset", os.path.abspath(os.path.expanduser(self.dataset)))
        validate(self)
        validate_observations(self)

    @property
    def hidden_widths(self) -> tuple[int, ...]:
        """The encoder's hidden widths, resolving the reference default."""
        if self.encoder_widths is not None:
            return self.encoder_widths
        n = self.dim
        return (10 * n, 50 * n, 50 * n, 50 * n, 50 * n, 10 * n)

    @property
    def stop_at_threshold(self) -> tuple[str, float] | None:
        """``stop_at`` parsed: ``(metric, value)`` with metric a key of ``STOP_AT_METRICS``
        (``"r2"``: held-out linear R^2, ``"mcc"``: Pearson MCC), or ``None`` when off."""
        return parse_stop_at(self.stop_at)

    def replace(self, **overrides: Any) -> ExperimentConfig:
        """A copy with ``overrides`` applied (``None`` values are ignored); validates the result."""
        unknown = set(overrides) - {f.name for f in dataclasses.fields(self)}
        if unknown:
            raise ConfigError(f"unknown config key(s): {', '.join(sorted(unknown))}")
        floats = {f.name for f in dataclasses.fields(self) if f.type == "float"}
        values = {
            k: float(v) if k in floats and isinstance(v, int) and not isinstance(v, bool) else v
            for k, v in overrides.items()
            if v is not None
        }
        return dataclasses.replace(self, **values)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict of all fields (tuples as lists)."""
        out = dataclasses.asdict(self)
        if out["encoder_widths"] is not None:
            out["encoder_widths"] = list(out["encoder_widths"])
        return out


def _check_types(cfg: ExperimentConfig) -> None:
    """Raise :class:`ConfigError` for a value of the wrong type (e.g. from a TOML file)."""
    for field in dataclasses.fields(cfg):
        value = getattr(cfg, field.name)
        if field.type == "str":
            ok = isinstance(value, str)
        elif field.type == "int":
            ok = isinstance(value, int) and not isinstance(value, bool)
        elif field.type == "float":
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        else:  # encoder_widths: None or a list of integers
            ok = value is None or (
                isinstance(value, (list, tuple))
                and all(isinstance(w, int) and not isinstance(w, bool) for w in value)
            )
        if not ok:
            raise ConfigError(f"{field.name}={value!r} has the wrong type (expected {field.type})")


def _require_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ConfigError(f"{name}={value!r} is not one of: {', '.join(choices)}")


def _require_positive(name: str, value: float) -> None:
    if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
        raise ConfigError(f"{name} must be a positive number, got {value!r}")


def validate(cfg: ExperimentConfig) -> None:
    """Raise :class:`ConfigError` naming the first invalid parameter of ``cfg``."""
    for key, choices in VOCABULARIES.items():
        _require_choice(key, getattr(cfg, key), choices)
    for name in (
        "dim",
        "mixing_layers",
        "steps",
        "batch_size",
        "eval_every",
        "eval_samples",
        "checkpoint_every",
        "steps_per_call",
    ):
        value = getattr(cfg, name)
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            raise ConfigError(f"{name} must be a positive integer, got {value!r}")
    if cfg.conditional == "vmf" and not (
        isinstance(cfg.conditional_scale, (int, float)) and cfg.conditional_scale > 0
    ):
        raise ConfigError(
            f"conditional_scale (kappa of the vmf conditional) must be positive, "
            f"got {cfg.conditional_scale!r}"
        )
    for name in (
        "radius",
        "marginal_scale",
        "marginal_p",
        "conditional_scale",
        "conditional_p",
        "model_p",
        "tau",
        "lr",
    ):
        _require_positive(name, getattr(cfg, name))
    if cfg.negatives != "anchors" and cfg.loss != "lp":
        raise ConfigError(f"negatives={cfg.negatives!r} needs loss='lp', got loss={cfg.loss!r}")
    _validate_schedule(cfg)
    parse_stop_at(cfg.stop_at)
    if not isinstance(cfg.seed, int) or cfg.seed < 0:
        raise ConfigError(f"seed must be a non-negative integer, got {cfg.seed!r}")
    if not (math.isfinite(cfg.box_low) and math.isfinite(cfg.box_high)):
        raise ConfigError(f"box_low/box_high must be finite, got {cfg.box_low}, {cfg.box_high}")
    if not cfg.box_low < cfg.box_high:
        raise ConfigError(f"box_low={cfg.box_low} must be below box_high={cfg.box_high}")
    if cfg.encoder_widths is not None and any(w <= 0 for w in cfg.encoder_widths):
        raise ConfigError(f"encoder_widths must be positive, got {list(cfg.encoder_widths)}")
    if cfg.conditional == "vmf" and cfg.space != "sphere":
        raise ConfigError(f"conditional='vmf' needs space='sphere', got space={cfg.space!r}")
    if cfg.marginal == "uniform" and cfg.space == "unbounded":
        raise ConfigError("marginal='uniform' is not defined on space='unbounded' (R^n)")
    if cfg.space == "sphere" and cfg.dim < 2:
        raise ConfigError(f"dim must be at least 2 on the sphere, got {cfg.dim}")


def _validate_schedule(cfg: ExperimentConfig) -> None:
    """The learning-rate schedule, Adam's constants and clipping (see ``LR_SCHEDULE_NOTES``)."""
    if not isinstance(cfg.baseline_steps, int) or cfg.baseline_steps < 0:
        raise ConfigError(
            f"baseline_steps must be a non-negative integer (0: steps), got {cfg.baseline_steps!r}"
        )
    if cfg.warmup_steps < 0:
        raise ConfigError(f"warmup_steps must be a non-negative integer, got {cfg.warmup_steps}")
    if cfg.warmup_steps and cfg.lr_schedule == "constant":
        raise ConfigError(
            f"warmup_steps={cfg.warmup_steps} needs a warmup lr_schedule "
            f"({', '.join(s for s in LR_SCHEDULES if s.startswith('warmup'))}), "
            "got lr_schedule='constant'"
        )
    if cfg.warmup_steps > cfg.steps:
        raise ConfigError(f"warmup_steps={cfg.warmup_steps} exceeds steps={cfg.steps}")
    if not (math.isfinite(cfg.lr_final_fraction) and 0 <= cfg.lr_final_fraction <= 1):
        raise ConfigError(f"lr_final_fraction must be in [0, 1], got {cfg.lr_final_fraction!r}")
    for name in ("adam_beta1", "adam_beta2"):
        value = getattr(cfg, name)
        if not (math.isfinite(value) and 0 <= value < 1):
            raise ConfigError(f"{name} must be in [0, 1), got {value!r}")
    _require_positive("adam_epsilon", cfg.adam_epsilon)
    if not (math.isfinite(cfg.clip_norm) and cfg.clip_norm >= 0):
        raise ConfigError(
            f"clip_norm must be a non-negative number (0 = off), got {cfg.clip_norm!r}"
        )


def parse_stop_at(text: str) -> tuple[str, float] | None:
    """``"r2=0.99"`` -> ``("r2", 0.99)``; ``""`` -> ``None``.

    Raises:
        ConfigError: not ``METRIC=VALUE`` with METRIC in ``STOP_AT_METRICS`` and VALUE in (0, 1].
    """
    if not text.strip():
        return None
    metric, sep, value = text.partition("=")
    metric = metric.strip()
    try:
        threshold = float(value)
    except ValueError:
        threshold = math.nan
    if not sep or metric not in STOP_AT_METRICS or not 0 < threshold <= 1:
        raise ConfigError(
            f"stop_at={text!r} is not METRIC=VALUE with METRIC one of "
            f"{', '.join(STOP_AT_METRICS)} and VALUE in (0, 1], e.g. 'r2=0.99'"
        )
    return metric, threshold


# ------------------------------------------------------------------------- images and encoders

RENDER_FACTORS = 10  # the renderer's latent factors (tfclica.observations.renderer.FACTOR_NAMES)
IMAGE_SIZES = (16, 512)  # smallest and largest image_size


def validate_observations(cfg: ExperimentConfig) -> None:
    """Raise :class:`ConfigError` naming the first invalid combination of observations, encoder
    and setting (the values themselves are checked by :func:`validate`)."""
    low, high = IMAGE_SIZES
    if not (isinstance(cfg.image_size, int) and low <= cfg.image_size <= high):
        raise ConfigError(f"image_size must be an integer in {low}..{high}, got {cfg.image_size!r}")
    if cfg.observations == "mixing" and not cfg.dataset:
        if cfg.encoder != "mlp":
            raise ConfigError(
                f"encoder={cfg.encoder!r} needs image observations (observations='render'); "
                "the mixing's observations are vectors: use encoder='mlp'"
            )
        return
    if cfg.encoder == "mlp":
        what = f"observations={cfg.observations!r} are"
        what = f"dataset={cfg.dataset!r} holds" if cfg.dataset else what
        raise ConfigError(
            f"{what} images: encoder must be one of {', '.join(IMAGE_ENCODERS)}, got 'mlp'"
        )
    rendered = cfg.observations == "render" and not cfg.dataset  # a dataset replaces the renderer
    if rendered and cfg.dim != RENDER_FACTORS:
        raise ConfigError(
            f"observations='render' draws {RENDER_FACTORS} factors: dim must be "
            f"{RENDER_FACTORS}, got {cfg.dim}"
        )
    if rendered and (cfg.space != "box" or cfg.box_low < -1.0 or cfg.box_high > 1.0):
        raise ConfigError(
            "observations='render' takes factors in [-1, 1]: space must be 'box' with "
            f"-1 <= box_low < box_high <= 1, got space={cfg.space!r}, "
            f"box_low={cfg.box_low}, box_high={cfg.box_high}"
        )
    if cfg.encoder == "resnet50" and cfg.precision != "float32":
        raise ConfigError(
            f"encoder='resnet50' is float32 only (keras.applications), got "
            f"precision={cfg.precision!r}"
        )
    if cfg.encoder == "resnet50" and cfg.image_size < 32:
        raise ConfigError(f"encoder='resnet50' needs image_size >= 32, got {cfg.image_size}")
