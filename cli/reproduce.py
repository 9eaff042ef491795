"""``tfclica reproduce``: the paper's tables from a grid of ordinary runs."""

from __future__ import annotations

import shlex
from pathlib import Path

import click

from tfclica.experiments.reproduce import TABLES
from tfclica.experiments.schedules import SCHEDULES


@click.command("reproduce")
@click.option(
    "--table",
    type=click.Choice([*TABLES, "all"]),
    default="all",
    show_default=True,
    help="which table's rows to run",
)
@click.option("--rows", default=None, help="comma-separated row (preset) names: only these")
@click.option(
    "--seeds", type=click.IntRange(min=1), default=3, show_default=True, help="seeds per row"
)
@click.option(
    "--schedule",
    type=click.Choice(list(SCHEDULES)),
    default="quick",
    show_default=True,
    help="smoke: seconds, for tests | quick: the budgeted CPU table | full: each preset's own "
    "schedule | reference: the reference's recipe (batch 6144, lr 1e-4, tau 1) for quick's "
    "pairs | paper: the reference's (batch 6144, lr 1e-4, 300k steps; accelerators)",
)
@click.option("--shard", default=None, help="I/N: run only every N-th run from the I-th (0-based)")
@click.option(
    "--list",
    "list_only",
    is_flag=True,
    help="print one `tfclica train` command per run with its estimated minutes, and the total",
)
@click.option(
    "--collect",
    "collect_only",
    is_flag=True,
    help="train nothing: rebuild OUT's results.md, results.csv and pictures from the records "
    "(metrics.json) under --out",
)
@click.option("--out", type=click.Path(path_type=Path), required=True, help="results directory")
def command(table, rows, seeds, schedule, shard, list_only, collect_only, out):
    """Run the paper's settings grid (each run an ordinary run directory under --out), then
    write OUT/results.md and OUT/results.csv. Finished runs are skipped, interrupted ones
    resumed; with --shard only that shard's runs are made (a final call without --shard on the
    same --out collects; so does --collect, which trains nothing)."""
    from tfclica.experiments import reproduce, tables

    selected = reproduce.select_rows(table, [r for r in (rows or "").split(",") if r])
    plan = reproduce.plan_runs(selected, seeds, schedule, out, reproduce.parse_shard(shard))
    if list_only:
        for line in reproduce.list_lines(plan):
            click.echo(line)
        return
    if collect_only and not out.is_dir():
        raise click.BadParameter(f"{out} is not a directory of records", param_hint="--out")
    if not collect_only:
        out.mkdir(parents=True, exist_ok=True)
        reproduce.execute(plan, echo=lambda line: click.echo(line, err=True))
    if shard is not None and not collect_only:
        click.echo(f"shard {shard} done; collect with the same command without --shard", err=True)
        return
    everything = reproduce.plan_runs(selected, seeds, schedule, out)
    summaries = tables.collect(selected, everything)
    # The command that rebuilds these tables (the options, not argv: the same for every caller).
    words = ["tfclica", "reproduce", "--table", table, "--seeds", str(seeds)]
    words += ["--rows", rows] if rows else []
    command_line = shlex.join([*words, "--schedule", schedule, "--collect", "--out", str(out)])
    tables.write_results(out, summaries, schedule, command_line)
    tables.plot_tables(out, summaries)
    click.echo(f"wrote {out / 'results.md'} and {out / 'results.csv'}", err=True)
