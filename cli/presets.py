"""``tfclica presets``: list the named experiments, one line each."""

from __future__ import annotations

import click


@click.command("presets")
def command():
    """List presets, one line each."""
    from tfclica.presets import all_presets

    presets = all_presets()
    width = max(len(p.name) for p in presets)
    for p in presets:
        click.echo(f"{p.name:<{width}}  {p.description}")
