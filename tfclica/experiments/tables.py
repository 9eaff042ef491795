"""The paper's tables from the runs' records: per row the scores over seeds, the baselines, the
minutes and a verdict against the paper's level; as CSV, Markdown and bar charts.

Rebuilding a table reads only each run's metrics.json (:data:`~.reproduce.RECORD_FILES`), so
the committed records under ``docs/results/`` rebuild it without training anything.
"""

from __future__ import annotations

import csv
import io
import json
import math
import statistics
from pathlib import Path

from tfclica.errors import ConfigError
from tfclica.experiments.reproduce import PlannedRun, table_rows
from tfclica.experiments.schedules import SCHEDULES, run_lengths
from tfclica.presets import TABLES as TABLE_METRICS
from tfclica.presets import Preset, get_preset
from tfclica.rundir import METRICS_FILE, atomic_write_text

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
