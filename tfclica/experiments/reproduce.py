"""The paper's tables from runs: plan the runs of a grid, run or resume them, keep their records.

A table is an ordered list of presets (their ``table`` and ``row``); a run is one preset with one
seed under one schedule (:mod:`~tfclica.experiments.schedules`), trained as an ordinary
``tfclica train`` process into ``OUT/<preset>/seed<k>`` with ``--objective both`` (so the
supervised baseline comes from the same run). Planning is pure (:func:`plan_runs`); running
shells out to the CLI, so what ``--list`` prints is exactly what runs, and a crash or divergence
of one run never stops the table. Collecting the runs into tables is
:mod:`~tfclica.experiments.tables`.
"""

from __future__ import annotations

import os
import shlex
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tfclica.errors import ConfigError
from tfclica.experiments.schedules import (
    RUN_OVERHEAD_SECONDS,
    SCHEDULES,
    SUPERVISED_PAIRS_PER_SECOND,
    measured_pairs_per_second,
    run_lengths,
)
from tfclica.presets import TABLES as TABLE_METRICS
from tfclica.presets import Preset, get_preset
from tfclica.presets import table_rows as preset_rows
from tfclica.rundir import CONFIG_FILE, HISTORY_FILE, METRICS_FILE, atomic_write_text

TABLES = tuple(TABLE_METRICS)  # ("sphere", "box"): each table's score is TABLE_METRICS[table]


@dataclass(frozen=True)
class PlannedRun:
    """One run of a table: a preset, a seed, a schedule, and where it goes."""

    preset: Preset
    seed: int
    schedule: str
    out: Path

    def train_args(self, resume: bool = False) -> list[str]:
        """Arguments of the ``tfclica train`` call that performs (or continues) this run."""
        if resume:
            return ["train", "--resume", "--out", str(self.out)]
        args = ["train", "--preset", self.preset.name, "--seed", str(self.seed)]
        args += ["--objective", "both"]
        for key, value in SCHEDULES[self.schedule].items():
            args += [f"--{key.replace('_', '-')}", str(value)]
        return args + ["--out", str(self.out)]

    def command(self) -> str:
        """The shell command of :meth:`train_args` (what ``--list`` prints)."""
        return shlex.join(["tfclica", *self.train_args()])

    def estimated_seconds(self) -> float | None:
        """Wall seconds this run should take on the machine its preset was measured on: its
        pairs at the preset's measured pairs/s (or its schedule neighbour's), the supervised
        baseline's at :data:`SUPERVISED_PAIRS_PER_SECOND`, plus :data:`RUN_OVERHEAD_SECONDS`.
        ``None`` where no rate was measured, or where the schedule trains another encoder."""
        overrides = SCHEDULES[self.schedule]
        rate = measured_pairs_per_second(self.preset)
        if rate is None or "encoder_widths" in overrides:
            return None
        steps, batch, baseline = run_lengths(self.preset, self.schedule)
        return (
            steps * batch / rate
            + baseline * batch / SUPERVISED_PAIRS_PER_SECOND
            + RUN_OVERHEAD_SECONDS
        )

    @property
    def finished(self) -> bool:
        return (self.out / METRICS_FILE).is_file()

    @property
    def started(self) -> bool:
        return (self.out / CONFIG_FILE).is_file()


def table_rows(table: str) -> list[Preset]:
    """The presets of ``table`` (``sphere``, ``box`` or ``all``), in row order."""
    if table not in (*TABLES, "all"):
        raise ConfigError(f"--table {table!r} is not one of: {', '.join((*TABLES, 'all'))}")
    return [p for t in (TABLES if table == "all" else (table,)) for p in preset_rows(t)]


def select_rows(table: str, names: list[str] | None) -> list[Preset]:
    """The rows of ``table``, restricted to ``names`` when given (each must be a row)."""
    rows = table_rows(table)
    if not names:
        return rows
    known = {p.name for p in rows}
    unknown = [n for n in names if n not in known]
    if unknown:
        get_preset(unknown[0])  # an unknown preset name: the registry's own message
        raise ConfigError(
            f"--rows {unknown[0]!r} is not a row of table {table!r}; its rows: "
            f"{', '.join(p.name for p in rows)}"
        )
    return [p for p in rows if p.name in names]


def parse_shard(text: str | None) -> tuple[int, int]:
    """``"I/N"`` -> ``(I, N)`` with ``0 <= I < N`` (``None``: the whole plan, ``(0, 1)``)."""
    if text is None:
        return 0, 1
    try:
        index, count = (int(part) for part in text.split("/"))
    except ValueError:
        raise ConfigError(f"--shard {text!r} must be I/N, e.g. 0/4") from None
    if count < 1 or not 0 <= index < count:
        raise ConfigError(f"--shard {text!r} needs 0 <= I < N")
    return index, count


def plan_runs(
    rows: list[Preset], seeds: int, schedule: str, out: Path, shard: tuple[int, int] = (0, 1)
) -> list[PlannedRun]:
    """Every run of ``rows`` x ``seeds`` (seed 0..K-1), or every N-th of them for a shard."""
    if schedule not in SCHEDULES:
        raise ConfigError(f"--schedule {schedule!r} is not one of: {', '.join(SCHEDULES)}")
    if seeds < 1:
        raise ConfigError(f"--seeds must be at least 1, got {seeds}")
    runs = [
        PlannedRun(preset, seed, schedule, Path(out) / preset.name / f"seed{seed}")
        for preset in rows
        for seed in range(seeds)
    ]
    index, count = shard
    return runs[index::count]


def list_lines(runs: list[PlannedRun]) -> list[str]:
    """``--list``: each run's command with its estimated minutes as a shell comment, then the
    total (runs whose preset has no measured rate are counted as unknown)."""
    lines, known, unknown = [], 0.0, 0
    for run in runs:
        seconds = run.estimated_seconds()
        if seconds is None:
            unknown += 1
            lines.append(f"{run.command()}  # minutes unknown (no measured pairs/s)")
        else:
            known += seconds
            lines.append(f"{run.command()}  # about {seconds / 60:.1f} min")
    total = f"# {len(runs)} runs: about {known / 60:.0f} min ({known / 3600:.1f} h) estimated"
    return [*lines, total + (f", {unknown} more unknown" if unknown else "")]


def _clock(seconds: float) -> str:
    seconds = int(max(seconds, 0))
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def execute(
    runs: list[PlannedRun],
    echo: Callable[[str], None],
    train: Callable[[list[str]], int] | None = None,
) -> dict[Path, int]:
    """Run (or resume) every unfinished run, one after another; finished runs are skipped.

    Args:
        runs: the plan.
        echo: where progress lines go.
        train: runs ``tfclica`` with the given arguments, returns its exit code (default: a
            subprocess of this Python's ``tfclica.cli.main``, output passed through).

    Returns:
        Exit codes of the runs that ran (0: finished; others failed and are reported as such).
    """
    train = train or _train_subprocess
    todo = [r for r in runs if not r.finished]
    echo(f"{len(runs) - len(todo)} of {len(runs)} runs already finished")
    codes, spent = {}, []
    for i, run in enumerate(todo, 1):
        left = (
            ""
            if not spent
            else f", about {_clock(statistics.mean(spent) * (len(todo) - i + 1))} left"
        )
        action = "resuming" if run.started else "starting"
        echo(f"[run {i}/{len(todo)}] {action} {run.preset.name} seed {run.seed}{left}")
        t0 = time.perf_counter()
        codes[run.out] = train(run.train_args(resume=run.started))
        spent.append(time.perf_counter() - t0)
        if codes[run.out] != 0:
            echo(f"[run {i}/{len(todo)}] {run.preset.name} seed {run.seed} FAILED "
                 f"(exit {codes[run.out]}); see {run.out}")  # fmt: skip
    return codes


def _train_subprocess(args: list[str]) -> int:
    # PYTHONSAFEPATH: `-m` would put the working directory first on the child's path, and a
    # checkout of this repository there shadows the installed package (which has tfclica.cli).
    env = {**os.environ, "PYTHONSAFEPATH": "1"}
    return subprocess.call([sys.executable, "-m", "tfclica.cli.main", *args], env=env)


# A run's small record: what a table is rebuilt from (not the encoder, checkpoints or logs).
RECORD_FILES = (CONFIG_FILE, HISTORY_FILE, METRICS_FILE)  # metrics.json last: it marks "finished"


def copy_records(runs: list[PlannedRun], dest: Path) -> list[Path]:
    """Copy each finished run's :data:`RECORD_FILES` to ``dest/<preset>/seed<k>/`` (atomically,
    file by file, metrics.json last, so a half-copied record is never a finished one); records
    already there are left as they are. Returns the record directories written."""
    written = []
    for run in runs:
        target = Path(dest) / run.preset.name / f"seed{run.seed}"
        if not run.finished or (target / METRICS_FILE).is_file():
            continue
        target.mkdir(parents=True, exist_ok=True)
        for name in RECORD_FILES:
            if (run.out / name).is_file():
                atomic_write_text(target / name, (run.out / name).read_text())
        written.append(target)
    return written
