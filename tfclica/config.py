"""One experiment as a frozen dataclass, with validation and TOML load/save.

The field names are the CLI's setting vocabulary (``--marginal-scale`` is ``marginal_scale``) and
the keys of a run's ``config.toml``. Presets live in :mod:`tfclica.presets`.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import tomllib

from tfclica.errors import ConfigError

SPACES = ("sphere", "box", "unbounded")
MARGINALS = ("uniform", "normal", "laplace", "gennorm")
CONDITIONALS = ("vmf", "normal", "laplace", "gennorm")
LOSSES = ("cosine", "lp", "ntxent", "align-uniform")
HEADS = ("sphere", "learnable-sphere", "box", "none")
OBJECTIVES = ("unsupervised", "supervised", "both")  # both: contrastive + supervised baseline
STRATEGIES = ("auto", "default", "mirrored", "multi-worker", "tpu")
PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")
# What the single-device train step compiles with XLA: the whole step, or only the sampling
# (faster on CPUs at large batches, where oneDNN's matmuls and element-wise kernels beat
# XLA:CPU's); auto picks "step" on a GPU/TPU or for small batches, "sampling" otherwise.
XLA_MODES = ("auto", "step", "sampling")


@dataclass(frozen=True)
class ExperimentConfig:
    """Everything that defines one run: the data-generating process, the model and the schedule.

    Attributes mirror the CLI flags of DESIGN.md. ``encoder_widths=None`` means the reference's
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
    head: str = "sphere"
    encoder_widths: tuple[int, ...] | None = None
    objective: str = "unsupervised"
    # Observations and encoder: the MLP mixing g and an MLP, or rendered 3DIdent-like images
    # (image_size x image_size, 10 factors) and a convolutional encoder (OBSERVATIONS, ENCODERS).
    observations: str = "mixing"
    image_size: int = 64
    encoder: str = "mlp"
    # Schedule.
    steps: int = 3000
    batch_size: int = 512
    lr: float = 1e-3
    seed: int = 0
    eval_every: int = 250
    eval_samples: int = 4096
    checkpoint_every: int = 1000
    strategy: str = "auto"
    precision: str = "float32"
    xla: str = "auto"
    # Training steps per call of the compiled step (a device-side loop): fewer host round trips.
    steps_per_call: int = 50

    def __post_init__(self) -> None:
        _check_types(self)
        if self.encoder_widths is not None:
            object.__setattr__(self, "encoder_widths", tuple(self.encoder_widths))
        validate(self)
        validate_observations(self)

    @property
    def hidden_widths(self) -> tuple[int, ...]:
        """The encoder's hidden widths, resolving the reference default."""
        if self.encoder_widths is not None:
            return self.encoder_widths
        n = self.dim
        return (10 * n, 50 * n, 50 * n, 50 * n, 50 * n, 10 * n)

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
    _require_choice("space", cfg.space, SPACES)
    _require_choice("marginal", cfg.marginal, MARGINALS)
    _require_choice("conditional", cfg.conditional, CONDITIONALS)
    _require_choice("loss", cfg.loss, LOSSES)
    _require_choice("head", cfg.head, HEADS)
    _require_choice("objective", cfg.objective, OBJECTIVES)
    _require_choice("strategy", cfg.strategy, STRATEGIES)
    _require_choice("precision", cfg.precision, PRECISIONS)
    _require_choice("xla", cfg.xla, XLA_MODES)
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


# ---------------------------------------------------------------------------------------- TOML


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


def to_toml(cfg: ExperimentConfig) -> str:
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


# ------------------------------------------------------------------------- images and encoders

OBSERVATIONS = ("mixing", "render")  # the MLP mixing g; the 3DIdent-like renderer
ENCODERS = ("mlp", "cnn", "resnet18", "resnet50")
IMAGE_ENCODERS = ENCODERS[1:]
RENDER_FACTORS = 10  # the renderer's latent factors (tfclica.data.renderer.FACTOR_NAMES)
IMAGE_SIZES = (16, 512)  # smallest and largest image_size


def validate_observations(cfg: ExperimentConfig) -> None:
    """Raise :class:`ConfigError` naming the first invalid observation or encoder setting."""
    _require_choice("observations", cfg.observations, OBSERVATIONS)
    _require_choice("encoder", cfg.encoder, ENCODERS)
    low, high = IMAGE_SIZES
    if not (isinstance(cfg.image_size, int) and low <= cfg.image_size <= high):
        raise ConfigError(f"image_size must be an integer in {low}..{high}, got {cfg.image_size!r}")
    if cfg.observations == "mixing":
        if cfg.encoder != "mlp":
            raise ConfigError(
                f"encoder={cfg.encoder!r} needs image observations (observations='render'); "
                "the mixing's observations are vectors: use encoder='mlp'"
            )
        return
    if cfg.encoder == "mlp":
        raise ConfigError(
            f"observations={cfg.observations!r} are images: encoder must be one of "
            f"{', '.join(IMAGE_ENCODERS)}, got 'mlp'"
        )
    if cfg.dim != RENDER_FACTORS:
        raise ConfigError(
            f"observations='render' draws {RENDER_FACTORS} factors: dim must be "
            f"{RENDER_FACTORS}, got {cfg.dim}"
        )
    if cfg.space != "box" or cfg.box_low < -1.0 or cfg.box_high > 1.0:
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
