"""What a preset is (:class:`Preset`, :class:`Measurement`) and the registry of named presets.

A preset carries, like a big_vision config, the command that runs it, whether its model is matched
to its data (and why), the paper table and row it is (``table``/``row``: :func:`table_rows` lists
a table's rows in order), and the score and minutes measured on this machine, or ``measured=None``
("not measured"; numbers here are only ever measurements). The presets themselves are in
:mod:`tfclica.presets.paper`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from tfclica.config.experiment import SCHEDULE_KEYS, ExperimentConfig
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
        date: ISO date of the measurement (an interval such as ``2026-12-07/08`` if it took days).
        conditions: the machine and what else ran (e.g. ``idle 2-core CPU``).
        seeds: how many seeds ``value`` and ``minutes`` are the mean of.
        pairs_per_second: the training's measured positive pairs per second (mean over the
            seeds), or ``None`` where it was not recorded; ``tfclica reproduce --list``
            estimates a run's minutes from it.
    """

    metric: str
    value: float
    minutes: float
    date: str
    conditions: str
    seeds: int = 1
    pairs_per_second: float | None = None


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
        seeds = "" if m.seeds == 1 else f"mean of {m.seeds} seeds, "
        return f"{m.metric} {m.value:g} in {m.minutes:g} min ({seeds}{m.date}, {m.conditions})"


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


def attach_measurements(measurements: dict[str, Measurement]) -> None:
    """Give registered presets their measurements (e.g. the full table's, kept in one module)."""
    for name, measured in measurements.items():
        _PRESETS[name] = replace(get_preset(name), measured=measured)


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
