"""Named experiments: a data-generating process, a model and a schedule, like big_vision configs.

Each preset carries the command that runs it, whether its model is matched to its data (and why),
the paper table and row it is (``table``/``row``; ``tfclica reproduce`` lists a table's rows in
order with :func:`table_rows`), and the score and minutes measured on this machine, or
``measured=None`` for "not measured" (numbers here are only ever measurements).

The two tables of the paper's grid (Zimmermann et al. 2021):

- ``sphere`` (held-out linear R^2: identifiable up to an orthogonal map): the sphere rows and
  box data under an unbounded L2 model.
- ``box`` (Pearson MCC: identifiable up to permutation and sign): box and R^n rows with Lp models.

"Matched" means the model's similarity and output space are the data's conditional and space, as
the paper's theorems require. A mismatched row trains with the schedule of its matched neighbour
(``schedule_of``), so a table compares like with like: tune the matched row and its mismatched
neighbours follow.
"""

from __future__ import annotations

from dataclasses import dataclass

from tfclica.config import SCHEDULE_KEYS, ExperimentConfig
from tfclica.errors import ConfigError

# Table name -> the metrics.json key its rows are read by.
TABLES = {"sphere": "r2_linear_heldout", "box": "mcc_pearson"}


@dataclass(frozen=True)
class Measurement:
    """A score of a preset's command, measured on this project's machine.

    Attributes:
        metric: the metrics.json key (e.g. ``r2_linear_heldout``).
        value: its value at the end of the run.
        minutes: wall-clock minutes of the whole command.
        date: ISO date of the measurement.
        conditions: the machine and what else ran (e.g. ``idle 2-core CPU``).
    """

    metric: str
    value: float
    minutes: float
    date: str
    conditions: str


@dataclass(frozen=True)
class Preset:
    """A named config and what is known about it.

    Attributes:
        name: the ``--preset`` name.
        description: the setting in one line.
        config: the experiment.
        matched: whether the model is matched to the data (see the module docstring).
        why: one line on why it is (or is not) matched.
        command: the command that runs it.
        table: ``"sphere"`` or ``"box"`` for a row of the paper's grid, ``""`` otherwise.
        row: the row's 1-based position in its table (``None`` outside the grid).
        schedule_of: the matched preset whose schedule this one shares (``""``: its own).
        measured: the measured score and minutes, or ``None`` (not measured).
    """

    name: str
    description: str
    config: ExperimentConfig
    matched: bool
    why: str
    command: str
    table: str = ""
    row: int | None = None
    schedule_of: str = ""
    measured: Measurement | None = None

    @property
    def metric(self) -> str:
        """The metrics.json key this preset is judged by (its table's; R^2 outside a table)."""
        return self.measured.metric if self.measured else TABLES.get(self.table, TABLES["sphere"])

    @property
    def expected(self) -> str:
        """The expected score and minutes as text, or ``"<metric> not measured"``."""
        m = self.measured
        if m is None:
            return f"{self.metric} not measured"
        return f"{m.metric} {m.value:g} in {m.minutes:g} min ({m.date}, {m.conditions})"


_PRESETS: dict[str, Preset] = {}


def register(
    name: str,
    description: str,
    *,
    matched: bool,
    why: str,
    table: str = "",
    row: int | None = None,
    schedule_of: str = "",
    measured: Measurement | None = None,
    command: str | None = None,
    **settings,
) -> Preset:
    """Add a preset (used below; downstream code may add its own).

    Args:
        name: the preset's name (unique).
        description: the setting in one line.
        matched: whether the model is matched to the data.
        why: one line saying why.
        table: ``"sphere"``/``"box"`` for a row of the paper's grid.
        row: its position in the table (unique per table).
        schedule_of: a registered matched preset whose schedule (``config.SCHEDULE_KEYS``) this
            one copies; ``settings`` may then not set schedule keys.
        measured: a measurement of ``command`` on this machine, if one was made.
        command: how to run it (default ``tfclica train --preset NAME``).
        **settings: ``ExperimentConfig`` fields.

    Raises:
        ConfigError: a duplicate name or row, an unknown table or neighbour, or a setting.
    """
    if name in _PRESETS:
        raise ConfigError(f"preset {name!r} is already registered")
    if table and (table not in TABLES or row is None):
        raise ConfigError(f"preset {name!r}: table={table!r} needs one of {list(TABLES)} and a row")
    if table and any(p.table == table and p.row == row for p in _PRESETS.values()):
        raise ConfigError(f"preset {name!r}: table {table!r} already has row {row}")
    if schedule_of:
        neighbour = get_preset(schedule_of)
        if not neighbour.matched:
            raise ConfigError(f"preset {name!r}: schedule_of={schedule_of!r} is not matched")
        if given := sorted(set(settings) & set(SCHEDULE_KEYS)):
            raise ConfigError(
                f"preset {name!r}: {', '.join(given)} would override the schedule of "
                f"schedule_of={schedule_of!r}"
            )
        settings.update({k: getattr(neighbour.config, k) for k in SCHEDULE_KEYS})
    preset = Preset(
        name,
        description,
        ExperimentConfig(preset=name, **settings),
        matched=matched,
        why=why,
        command=command or f"tfclica train --preset {name}",
        table=table,
        row=row,
        schedule_of=schedule_of,
        measured=measured,
    )
    _PRESETS[name] = preset
    return preset


def get_preset(name: str) -> Preset:
    """The preset called ``name``; :class:`ConfigError` listing the known names otherwise."""
    try:
        return _PRESETS[name]
    except KeyError:
        raise ConfigError(
            f"unknown preset {name!r}; known presets: {', '.join(sorted(_PRESETS))}"
        ) from None


def all_presets() -> list[Preset]:
    """Every registered preset: those outside the grid in registration order, then each table's
    rows in order."""
    loose = [p for p in _PRESETS.values() if not p.table]
    return loose + [p for table in TABLES for p in table_rows(table)]


def table_rows(table: str) -> list[Preset]:
    """The presets of a paper table (``"sphere"`` or ``"box"``), in row order."""
    if table not in TABLES:
        raise ConfigError(f"table={table!r} is not one of: {', '.join(TABLES)}")
    return sorted((p for p in _PRESETS.values() if p.table == table), key=lambda p: p.row)


# The reference's paper schedule, for GPU/TPU users.
PAPER_SCHEDULE = dict(steps=300_000, batch_size=6144, lr=1e-4, eval_every=250)
# The shared CPU schedule of the grid's matched rows (tune per row; mismatched rows follow).
CPU_SCHEDULE = dict(steps=3000, batch_size=1024, lr=2e-3, eval_every=250)

_VMF_MATCH = "tau = 1/kappa: the cosine similarity / tau is the vMF log-density, on the sphere"
_SPHERE_MODEL = dict(loss="cosine", head="sphere")
_BOX = dict(space="box", box_low=0.0, box_high=1.0, marginal="uniform")
_L2_NOT_MCC = "L2 matches normal pairs, but the Lp theorem behind MCC needs p != 2"


# `tfclica train`: the 10-minute CPU experiment. Tuned on a 2-core CPU: 3000 steps at batch 1024
# and lr 2e-3 reached held-out linear R^2 0.969 (batch 512 / lr 1e-3 plateaued near 0.925).
register(
    "default",
    "sphere, uniform marginal, vMF(kappa=10) pairs, cosine InfoNCE with tau=1/kappa; CPU schedule",
    matched=True,
    why=_VMF_MATCH,
    command="tfclica train",
    measured=Measurement("r2_linear_heldout", 0.968, 3.4, "2026-12-01", "idle 2-core CPU"),
    space="sphere",
    marginal="uniform",
    conditional="vmf",
    conditional_scale=10.0,
    tau=0.1,
    **_SPHERE_MODEL,
    **CPU_SCHEDULE,
)

# The sphere-vmf1 setting on the reference schedule: `tfclica train --preset sphere-vmf-paper`
# (GPU/TPU; 300k steps at batch 6144).
register(
    "sphere-vmf-paper",
    "sphere, vMF(kappa=1), cosine InfoNCE tau=1; paper schedule (batch 6144, lr 1e-4, 300k steps)",
    matched=True,
    why=_VMF_MATCH,
    space="sphere",
    marginal="uniform",
    conditional="vmf",
    conditional_scale=1.0,
    tau=1.0,
    **_SPHERE_MODEL,
    **PAPER_SCHEDULE,
)

# ------------------------------------------------------------------------- table "sphere"
# Linear R^2. All on S^9 (n = 10); the paper's model is cosine InfoNCE behind a unit-sphere head.

register(
    "sphere-vmf1",
    "sphere, uniform, vMF(kappa=1) pairs; cosine InfoNCE tau=1, sphere head",
    matched=True,
    why=_VMF_MATCH,
    table="sphere",
    row=1,
    space="sphere",
    marginal="uniform",
    conditional="vmf",
    conditional_scale=1.0,
    tau=1.0,
    **_SPHERE_MODEL,
    **CPU_SCHEDULE,
)
register(
    "sphere-vmf10",
    "sphere, uniform, vMF(kappa=10) pairs; cosine InfoNCE tau=0.1, sphere head",
    matched=True,
    why=_VMF_MATCH,
    table="sphere",
    row=2,
    space="sphere",
    marginal="uniform",
    conditional="vmf",
    conditional_scale=10.0,
    tau=0.1,
    **_SPHERE_MODEL,
    **CPU_SCHEDULE,
)
register(
    "sphere-vmf10-tau1",
    "sphere, uniform, vMF(kappa=10) pairs; cosine InfoNCE tau=1, sphere head",
    matched=False,
    why="mismatched concentration: tau = 1 assumes kappa = 1, the pairs have kappa = 10",
    table="sphere",
    row=3,
    schedule_of="sphere-vmf10",
    space="sphere",
    marginal="uniform",
    conditional="vmf",
    conditional_scale=10.0,
    tau=1.0,
    **_SPHERE_MODEL,
)
register(
    "sphere-laplace",
    "sphere, uniform, projected Laplace(0.05) pairs; cosine InfoNCE tau=0.1, sphere head",
    matched=False,
    why="mismatched conditional: the cosine model assumes vMF pairs, these are projected Laplace",
    table="sphere",
    row=4,
    schedule_of="sphere-vmf10",
    space="sphere",
    marginal="uniform",
    conditional="laplace",
    conditional_scale=0.05,
    tau=0.1,
    **_SPHERE_MODEL,
)
register(
    "sphere-normal",
    "sphere, uniform, projected Normal(0.05) pairs; cosine InfoNCE tau=0.1, sphere head",
    matched=False,
    why="mismatched conditional: the cosine model assumes vMF pairs, these are projected normal",
    table="sphere",
    row=5,
    schedule_of="sphere-vmf10",
    space="sphere",
    marginal="uniform",
    conditional="normal",
    conditional_scale=0.05,
    tau=0.1,
    **_SPHERE_MODEL,
)
# The reference centres sphere marginals at e_1 before projecting (latents/spaces.py); scale 1
# is its default --m-param.
register(
    "sphere-normal-vmf1",
    "sphere, Normal(1) around e_1 projected, vMF(kappa=1) pairs; cosine InfoNCE tau=1",
    matched=False,
    why="mismatched marginal: the theorem needs a uniform p(z), this one concentrates at e_1",
    table="sphere",
    row=6,
    schedule_of="sphere-vmf1",
    space="sphere",
    marginal="normal",
    marginal_scale=1.0,
    conditional="vmf",
    conditional_scale=1.0,
    tau=1.0,
    **_SPHERE_MODEL,
)

# ---------------------------------------------------------------------------- table "box"
# MCC. Box [0,1]^10 with an Lp model behind a learnable box head, then R^n with no head; p = 1
# for Laplace pairs, 3 for GenNorm(3). Registered before the sphere table's box rows, which
# share the box schedule.

register(
    "box-laplace",
    "box [0,1], uniform, truncated Laplace(0.05) pairs; Lp InfoNCE p=1, box head",
    matched=True,
    why="L1 similarity is the Laplace pairs' log-density and the box head is the data's box",
    table="box",
    row=1,
    conditional="laplace",
    conditional_scale=0.05,
    loss="lp",
    model_p=1.0,
    tau=1.0,
    head="box",
    **_BOX,
    **CPU_SCHEDULE,
)
register(
    "box-gennorm3",
    "box [0,1], uniform, truncated GenNormal(p=3, 0.05) pairs; Lp InfoNCE p=3, box head",
    matched=True,
    why="L3 similarity is the GenNorm(3) pairs' log-density and the box head is the data's box",
    table="box",
    row=2,
    conditional="gennorm",
    conditional_scale=0.05,
    conditional_p=3.0,
    loss="lp",
    model_p=3.0,
    tau=1.0,
    head="box",
    **_BOX,
    **CPU_SCHEDULE,
)
register(
    "box-normal-l1",
    "box [0,1], uniform, truncated Normal(0.05) pairs; Lp InfoNCE p=1, box head",
    matched=False,
    why="mismatched conditional: an L1 model assumes Laplace pairs, these are normal",
    table="box",
    row=3,
    schedule_of="box-laplace",
    conditional="normal",
    conditional_scale=0.05,
    loss="lp",
    model_p=1.0,
    tau=1.0,
    head="box",
    **_BOX,
)
register(
    "box-normal-l3",
    "box [0,1], uniform, truncated Normal(0.05) pairs; Lp InfoNCE p=3, box head",
    matched=False,
    why="mismatched conditional: an L3 model assumes GenNorm(3) pairs, these are normal",
    table="box",
    row=4,
    schedule_of="box-gennorm3",
    conditional="normal",
    conditional_scale=0.05,
    loss="lp",
    model_p=3.0,
    tau=1.0,
    head="box",
    **_BOX,
)
register(
    "box-normal",
    "box [0,1], uniform, truncated Normal(0.05) pairs; Lp InfoNCE p=2, box head",
    matched=False,
    why=_L2_NOT_MCC + " (an L2 similarity is rotation-invariant)",
    table="box",
    row=5,
    schedule_of="box-laplace",
    conditional="normal",
    conditional_scale=0.05,
    loss="lp",
    model_p=2.0,
    tau=1.0,
    head="box",
    **_BOX,
)


def _unbounded(marginal: str, conditional: str, row: int, matched: bool, why: str) -> None:
    """Register ``unbounded-<marginal>-<conditional>``: R^n, scale-1 marginal, 0.05 pairs."""
    p = 1.0 if conditional == "laplace" else 2.0
    name = f"unbounded-{marginal}-{conditional}"
    schedule = dict(CPU_SCHEDULE) if matched else dict(schedule_of="unbounded-laplace-laplace")
    register(
        name,
        f"R^n, {marginal}(1) marginal, {conditional}(0.05) pairs; Lp InfoNCE p={p:g}, no head",
        matched=matched,
        why=why,
        table="box",
        row=row,
        space="unbounded",
        marginal=marginal,
        marginal_scale=1.0,
        conditional=conditional,
        conditional_scale=0.05,
        loss="lp",
        model_p=p,
        tau=1.0,
        head="none",
        **schedule,
    )


_unbounded("laplace", "laplace", 6, True, "L1 similarity is the Laplace pairs' log-density on R^n")
_unbounded("laplace", "normal", 7, False, _L2_NOT_MCC + " (an L2 similarity is rotation-invariant)")
_unbounded(
    "normal",
    "laplace",
    8,
    False,
    "mismatched marginal: a rotation-invariant normal p(z), where the matched row has Laplace(1)",
)
_unbounded(
    "normal",
    "normal",
    9,
    False,
    "normal p(z) and normal pairs are rotation-invariant: z only up to a rotation (R^2, not MCC)",
)

# -------------------------------------------------- table "sphere": box data, unbounded model
# The paper's box rows of the R^2 table: box data, an L2 model with no head (it assumes R^n).
for _row, _conditional in ((7, "normal"), (8, "laplace")):
    register(
        f"box-{_conditional}-unbounded-l2",
        f"box [0,1], uniform, truncated {_conditional.capitalize()}(0.05) pairs; "
        "Lp InfoNCE p=2, no head",
        matched=False,
        why="mismatched space: the headless L2 model assumes R^n, the data fills a box",
        table="sphere",
        row=_row,
        schedule_of="box-laplace",
        conditional=_conditional,
        conditional_scale=0.05,
        loss="lp",
        model_p=2.0,
        tau=1.0,
        head="none",
        **_BOX,
    )
