"""The paper's tables from runs: plan the runs of a grid, run or resume them, and collect them.

A table is an ordered list of presets (their ``table`` and ``row``); a run is one preset with one
seed under one schedule, trained as an ordinary ``tfclica train`` process into
``OUT/<preset>/seed<k>`` with ``--objective both`` (so the supervised baseline comes from the same
run). Planning is pure (:func:`plan_runs`); running shells out to the CLI, so what ``--list``
prints is exactly what runs, and a crash or divergence of one run never stops the table.
Collecting reads every run's metrics.json and writes ``results.csv`` and ``results.md``.
"""

from __future__ import annotations

import csv
import io
import json
import math
import shlex
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tfclica.errors import ConfigError
from tfclica.presets import PAPER_SCHEDULE, Preset, get_preset
from tfclica.presets import TABLES as TABLE_METRICS
from tfclica.presets import table_rows as preset_rows
from tfclica.rundir import CONFIG_FILE, HISTORY_FILE, METRICS_FILE, atomic_write_text

TABLES = tuple(TABLE_METRICS)  # ("sphere", "box"): each table's score is TABLE_METRICS[table]

# Overrides of each schedule (flags of `tfclica train`); "full" keeps each preset's own.
SCHEDULES: dict[str, dict[str, object]] = {
    # seconds per run, for tests: checks the machinery, not learning
    # (a constant lr: a row's warmup can be longer than the whole smoke run)
    "smoke": dict(
        steps=20,
        batch_size=64,
        eval_every=10,
        checkpoint_every=10,
        eval_samples=512,
        lr_schedule="constant",
        warmup_steps=0,
        baseline_steps=0,  # as many as the steps
    ),
    # The budgeted CPU table: 17 rows x 3 seeds in 34 minutes on 2 cores (RESULTS.md, the
    # smaller encoder). Each row keeps its preset's lr, lr schedule, output init and tau (the
    # tuned part of its schedule); the supervised baseline trains 750 steps at the row's lr
    # (held-out R^2 0.809-0.968 measured there).
    "quick": dict(
        steps=1500, batch_size=512, eval_every=250, checkpoint_every=500, baseline_steps=750
    ),
    "full": {},
    # The reference's recipe (brendel-group/cl-ica's defaults: its encoder widths, batch
    # 6144, lr 1e-4 constant, tau 1) through our code, with our default Glorot init (the
    # reference keeps PyTorch's) and its negatives (the anchors, self included), for as many
    # pairs as "quick" (125 x 6144 = 768k): docs/RESULTS.md's time-to-score comparison.
    "reference": dict(
        encoder_widths="reference",
        negatives="anchors",
        steps=125,
        batch_size=6144,
        lr=1e-4,
        lr_schedule="constant",
        warmup_steps=0,
        tau=1.0,
        output_init="glorot",
        eval_every=25,
        checkpoint_every=125,
        baseline_steps=60,
    ),
    # the reference's schedule, encoder widths and negatives, for accelerators
    "paper": dict(
        PAPER_SCHEDULE,  # the sphere-vmf-paper preset's schedule, for every row
        encoder_widths="reference",
        negatives="anchors",
        baseline_steps=0,  # the reference's baseline trains as long as the model
    ),
}

# The supervised baseline's training rate (MSE on z, the 256x3 encoder, batch 1024): 122.9-127.9k
# pairs/s measured on default, box-laplace, box-gennorm3 and R^n Laplace (2026-12-07, `tfclica
# train --preset ROW --objective supervised --steps 8000`).
SUPERVISED_PAIRS_PER_SECOND = 125_000.0
# What a run spends besides its training steps: start-up, compiling, the evaluations every
# eval_every steps, the final scores (kernel R^2) of both objectives, pictures: 16-17 s of
# wall_seconds in the full table's first records (2026-12-07), plus the process's start.
RUN_OVERHEAD_SECONDS = 20.0

# The paper's level of each table's score: a row reaches it when its mean over seeds is at least
# this and no seed is below SEED_FLOOR.
LEVELS = {"sphere": 0.99, "box": 0.98}
SEED_FLOOR = 0.97


def theory(preset: Preset) -> str:
    """What the paper's theorems predict for a row: its table's guarantee if matched."""
    if not preset.matched:
        return "no guarantee"
    return {"sphere": "up to an orthogonal map", "box": "up to permutation and sign"}.get(
        preset.table, "identifiable"
    )


# Columns of results.csv; each score column has a _mean and a _std version.
SCORE_COLUMNS = (
    ("identity_r2", ("identity", "r2_linear_heldout")),
    ("identity_mcc", ("identity", "mcc_pearson")),
    ("supervised_r2", ("supervised", "r2_linear_heldout")),
    ("supervised_mcc", ("supervised", "mcc_pearson")),
    ("r2", ("r2_linear",)),
    ("r2_heldout", ("r2_linear_heldout",)),
    ("kernel_r2", ("r2_nonlinear",)),
    ("mcc", ("mcc_pearson",)),
    ("wall_seconds", ("wall_seconds",)),
)


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


def run_lengths(preset: Preset, schedule: str) -> tuple[int, int, int]:
    """``(steps, batch_size, baseline_steps)`` of ``preset`` under ``schedule``."""
    overrides, cfg = SCHEDULES[schedule], preset.config
    steps = int(overrides.get("steps", cfg.steps))
    baseline = int(overrides.get("baseline_steps", cfg.baseline_steps)) or steps
    return steps, int(overrides.get("batch_size", cfg.batch_size)), baseline


def measured_pairs_per_second(preset: Preset) -> float | None:
    """The preset's measured training pairs/s, else its schedule neighbour's, else ``None``."""
    for candidate in (preset, get_preset(preset.schedule_of) if preset.schedule_of else None):
        if candidate is not None and candidate.measured and candidate.measured.pairs_per_second:
            return float(candidate.measured.pairs_per_second)
    return None


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
    return subprocess.call([sys.executable, "-m", "tfclica.cli.main", *args])


# ------------------------------------------------------------------------------- collecting

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


def _value(metrics: dict, path: tuple[str, ...]):
    for key in path:
        if not isinstance(metrics, dict) or key not in metrics:
            return None
        metrics = metrics[key]
    return metrics if isinstance(metrics, (int, float)) and math.isfinite(metrics) else None


def _mean_std(values: list[float]) -> tuple[float | None, float | None]:
    if not values:
        return None, None
    return statistics.mean(values), (statistics.stdev(values) if len(values) > 1 else None)


def _below_on_table_metric(preset: Preset, metrics: dict) -> bool:
    """The run scored below g itself on its table's metric (or on every metric)."""
    key = {"r2_linear_heldout": "below_identity_r2", "mcc_pearson": "below_identity_mcc"}.get(
        TABLE_METRICS.get(preset.table, ""), "below_identity"
    )
    return bool(metrics.get(key) or metrics.get("below_identity"))


def collect(rows: list[Preset], runs: list[PlannedRun]) -> list[dict]:
    """One summary per row: the setting, scores as mean/std over its finished seeds, and what
    failed (runs without metrics.json, runs below their identity baseline, collapsed runs)."""
    summaries = []
    for preset in rows:
        own = [r for r in runs if r.preset.name == preset.name]
        metrics = []
        for run in own:
            if run.finished:
                metrics.append(json.loads((run.out / METRICS_FILE).read_text()))
        metric = TABLE_METRICS.get(preset.table, "r2_linear_heldout")
        scores = [v for m in metrics if (v := _value(m, (metric,))) is not None]
        summary = {
            "table": getattr(preset, "table", ""),
            "row": preset.name,
            "matched": bool(getattr(preset, "matched", False)),
            "theory": theory(preset),
            "setting": preset.description,
            "seeds": len(own),
            "finished": len(metrics),
            # a run with a config but no metrics.json was interrupted or failed
            "failed": sum(r.started and not r.finished for r in own),
            "score_min": min(scores) if scores else None,
            # below g's own score on the table's metric (held-out R^2 or MCC), or on both
            "below_identity": sum(_below_on_table_metric(preset, m) for m in metrics),
            "collapsed": sum(bool(m.get("collapsed")) for m in metrics),
        }
        for column, path in SCORE_COLUMNS:
            values = [v for m in metrics if (v := _value(m, path)) is not None]
            summary[f"{column}_mean"], summary[f"{column}_std"] = _mean_std(values)
        summary["score_mean"], summary["score_std"] = _mean_std(scores)
        summary["verdict"] = verdict(summary)
        summaries.append(summary)
    return summaries


def verdict(summary: dict) -> str:
    """A row's verdict: ``reaches the level`` (mean at least :data:`LEVELS` and no seed below
    :data:`SEED_FLOOR`), ``below the level``, ``below identity`` (a seed below g's own score on
    the table's metric) or ``not run``; what is missing or failed is said after it."""
    if not summary["finished"]:
        main = "FAILED" if summary["failed"] else "not run"
    elif summary["below_identity"]:
        main = "below identity"
    elif (
        summary["score_mean"] >= LEVELS.get(summary["table"], 0.99)
        and summary["score_min"] >= SEED_FLOOR
    ):
        main = "reaches the level"
    else:
        main = "below the level"
    notes = []
    if summary["finished"] and summary["finished"] < summary["seeds"]:
        notes.append(f"{summary['finished']} of {summary['seeds']} seeds")
    if summary["finished"] and summary["failed"]:
        notes.append(f"{summary['failed']} FAILED")
    if summary["collapsed"]:
        notes.append(f"{summary['collapsed']} collapsed")
    return main + (f" ({'; '.join(notes)})" if notes else "")


def record_measurements(records: Path, seeds: int = 3) -> dict[str, dict]:
    """Per grid row with records under ``records/<row>/seed<k>/`` (k < ``seeds``): its table's
    score, the run's wall minutes and its training pairs/s, each the mean over those seeds, and
    how many seeds there are (what each preset's :class:`~tfclica.presets.Measurement` states).
    """
    out = {}
    for preset in table_rows("all"):
        paths = [Path(records) / preset.name / f"seed{k}" / METRICS_FILE for k in range(seeds)]
        metrics = [json.loads(p.read_text()) for p in paths if p.is_file()]
        if not metrics:
            continue
        metric = TABLE_METRICS[preset.table]
        out[preset.name] = {
            "metric": metric,
            "value": round(statistics.mean(m[metric] for m in metrics), 3),
            "minutes": round(statistics.mean(m["wall_seconds"] for m in metrics) / 60, 1),
            "seeds": len(metrics),
            "pairs_per_second": round(statistics.mean(m["samples_per_second"] for m in metrics)),
        }
    return out


def results_csv(summaries: list[dict]) -> str:
    """The summaries as CSV text (empty cells for scores with no finished run)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(summaries[0]), lineterminator="\n")
    writer.writeheader()
    for s in summaries:
        writer.writerow({k: ("" if v is None else v) for k, v in s.items()})
    return buffer.getvalue()


def _pm(summary: dict, column: str) -> str:
    mean, std = summary[f"{column}_mean"], summary[f"{column}_std"]
    if mean is None:
        return "—"
    return f"{mean:.3f}" if std is None else f"{mean:.3f} ± {std:.3f}"  # one seed: no spread


OWN_SCHEDULE = "each preset's own"
_TABLE_SCORE = {"sphere": ("held-out linear R²", "identity_r2", "supervised_r2"),
                "box": ("Pearson MCC", "identity_mcc", "supervised_mcc")}  # fmt: skip


def results_markdown(summaries: list[dict], schedule: str, command: str) -> str:
    """The tables as Markdown: per table a verdict table (the setting, what the theory predicts,
    the score against its baselines, minutes, the verdict) and every score beside it; every row
    is shown, failures and rows not yet run marked, never dropped."""
    overrides = SCHEDULES[schedule]
    baseline = sorted({run_lengths(get_preset(s["row"]), schedule)[2] for s in summaries})
    finished = sum(s["finished"] for s in summaries)
    planned = sum(s["seeds"] for s in summaries)
    total = sum((s["wall_seconds_mean"] or 0) * s["finished"] for s in summaries) / 60
    lines = [
        f"# Results: schedule `{schedule}`",
        "",
        f"Made with `{command}` (schedule `{schedule}`: "
        f"{json.dumps(overrides) if overrides else OWN_SCHEDULE}). "
        f"{finished} of {planned} runs have a record; together they took {total:.0f} minutes. "
        "Score: mean ± std over the seeds with a record (held-out linear R² for the sphere "
        "table, Pearson MCC for the box table). The level is the paper's "
        f"({LEVELS['sphere']} / {LEVELS['box']}): a row reaches it when its mean is at least "
        f"that and no seed is below {SEED_FLOOR}. Identity: g's own output scored the same "
        "way (held-out R², or MCC on the same samples). Supervised: the same encoder "
        f"regressed on z with MSE in the same run, {'/'.join(f'{b:,}' for b in baseline)} "
        "steps. Minutes: the whole run's wall-clock minutes (both objectives).",
        "",
    ]
    for table in dict.fromkeys(s["table"] for s in summaries):
        label, identity, supervised = _TABLE_SCORE.get(table, _TABLE_SCORE["sphere"])
        rows = [s for s in summaries if s["table"] == table]
        lines += [
            f"## Table {table} ({label})",
            "",
            f"| row | setting | matched | theory | {label} | seeds | identity | supervised "
            "| minutes | verdict |",
            "|" + "---|" * 10,
        ]
        for s in rows:
            minutes = s["wall_seconds_mean"]
            lines.append(
                f"| {s['row']} | {s['setting']} | {'yes' if s['matched'] else 'no'} "
                f"| {s['theory']} | {_pm(s, 'score')} | {s['finished']} of {s['seeds']} "
                f"| {_pm(s, identity)} | {_pm(s, supervised)} "
                f"| {'—' if minutes is None else f'{minutes / 60:.1f}'} | {s['verdict']} |"
            )
        lines += [
            "",
            f"Every score of table {table}:",
            "",
            "| row | identity R² held-out | identity MCC | supervised R² | supervised MCC "
            "| R² | R² held-out | kernel R² | MCC |",
            "|" + "---|" * 9,
        ]
        lines += [
            f"| {s['row']} | {_pm(s, 'identity_r2')} | {_pm(s, 'identity_mcc')} "
            f"| {_pm(s, 'supervised_r2')} | {_pm(s, 'supervised_mcc')} | {_pm(s, 'r2')} "
            f"| {_pm(s, 'r2_heldout')} | {_pm(s, 'kernel_r2')} | {_pm(s, 'mcc')} |"
            for s in rows
        ]
        lines.append("")
    return "\n".join(lines)


# The lines of docs/RESULTS.md between which the full tables are copied.
BLOCK_BEGIN, BLOCK_END = "<!-- full-tables:begin -->", "<!-- full-tables:end -->"


def results_block(markdown: str) -> str:
    """``results.md`` as a section of a larger document: without its title, headings one level
    down."""
    lines = markdown.splitlines()[1:]  # the "# Results: ..." title
    return "\n".join("#" + line if line.startswith("## ") else line for line in lines).strip()


def fill_block(document: str, block: str) -> str:
    """``document`` with the text between :data:`BLOCK_BEGIN` and :data:`BLOCK_END` replaced.

    Raises:
        ConfigError: the markers are missing.
    """
    if BLOCK_BEGIN not in document or BLOCK_END not in document:
        raise ConfigError(f"the document has no {BLOCK_BEGIN} ... {BLOCK_END} block")
    head, rest = document.split(BLOCK_BEGIN, 1)
    _, tail = rest.split(BLOCK_END, 1)
    return f"{head}{BLOCK_BEGIN}\n{block}\n{BLOCK_END}{tail}"


def write_results(out: Path, summaries: list[dict], schedule: str, command: str) -> None:
    """``OUT/results.csv`` and ``OUT/results.md``, atomically."""
    atomic_write_text(Path(out) / "results.csv", results_csv(summaries))
    atomic_write_text(Path(out) / "results.md", results_markdown(summaries, schedule, command))


def plot_tables(out: Path, summaries: list[dict]) -> list[Path]:
    """``OUT/<table>.png``: identity / supervised / contrastive bars per row with the spread
    over seeds (held-out linear R^2 for the sphere table, MCC for the box table)."""
    from tfclica.evaluation.plots import plot_table_bars

    metric = {"sphere": ("r2_heldout", "identity_r2", "supervised_r2", "held-out linear R²")}
    metric["box"] = ("mcc", "identity_mcc", "supervised_mcc", "MCC (Pearson)")
    written = []
    for table in dict.fromkeys(s["table"] for s in summaries):
        ours, identity, supervised, label = metric.get(table, metric["sphere"])
        bars = [
            {
                "name": s["row"],
                **{
                    key: None
                    if s[f"{column}_mean"] is None
                    else (s[f"{column}_mean"], s[f"{column}_std"] or 0.0)
                    for key, column in (
                        ("identity", identity),
                        ("supervised", supervised),
                        ("contrastive", ours),
                    )
                },
            }
            for s in summaries
            if s["table"] == table
        ]
        written.append(plot_table_bars(bars, Path(out) / f"{table}.png", label))
    return written
