"""``tfclica presets``: the named experiments as an aligned table."""

from __future__ import annotations

import click

HEADER = ("name", "row", "match", "metric", "score", "min", "n", "command")  # n: seeds
# the table's metrics in one word each: held-out linear R^2 and Pearson MCC
METRIC_NAMES = {"r2_linear_heldout": "R2", "mcc_pearson": "MCC"}


@click.command("presets")
@click.option("--long", "long_form", is_flag=True, help="also each preset's setting and why")
def command(long_form):
    """List the presets as a table: name, table/row, matched, the measured score (metric,
    value, wall minutes, seeds; "-" where not measured) and the command that runs it.

    Scores are measurements on this project's 2-core CPU machine; `--long` adds the setting,
    why it is (or is not) matched, and when and how each score was measured.
    """
    from tfclica.presets import all_presets

    for line in preset_lines(all_presets(), long_form):
        click.echo(line)


def preset_row(p) -> tuple[str, ...]:
    """The table's cells of one preset."""
    m = p.measured
    return (
        p.name,
        f"{p.table}/{p.row}" if p.table else "-",
        "yes" if p.matched else "no",
        METRIC_NAMES.get(p.metric, p.metric),
        "-" if m is None else f"{m.value:.3f}",
        "-" if m is None else f"{m.minutes:g}",
        "-" if m is None else str(m.seeds),
        p.command,
    )


def preset_lines(presets, long_form: bool = False) -> list[str]:
    """The header and one aligned line per preset (with ``long_form``, two more lines each:
    the setting and why, and the measurement in words)."""
    rows = [HEADER, *(preset_row(p) for p in presets)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEADER) - 1)]
    lines = ["  ".join(f"{c:<{w}}" for c, w in zip(row, widths)) + "  " + row[-1] for row in rows]
    if not long_form:
        return lines
    out = [lines[0]]
    for line, p in zip(lines[1:], presets):
        out += [line, f"    {p.description}", f"    {p.why}", f"    measured: {p.expected}"]
    return out
