"""``tfclica presets``: list the named experiments, one line each."""

from __future__ import annotations

import click


@click.command("presets")
def command():
    """List presets, one line each: name, table/row, matched, expected score, command, setting.

    The expected score is a measurement on this project's 2-core CPU machine (metric, value,
    wall minutes, date) or says "not measured".
    """
    from tfclica.presets import all_presets

    for line in preset_lines(all_presets()):
        click.echo(line)


def preset_lines(presets) -> list[str]:
    """One aligned line per preset."""
    rows = [
        (
            p.name,
            f"{p.table}/{p.row}" if p.table else "-",
            "matched" if p.matched else "mismatched",
            p.expected,
            f"$ {p.command}",
            f"{p.description} | {p.why}",
        )
        for p in presets
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    return [
        "  ".join(f"{cell:<{w}}" for cell, w in zip(row, widths)) + "  " + row[-1] for row in rows
    ]
