"""``tfclica export``: write a run's encoder as SavedModel and/or ONNX and check parity."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("export")
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["savedmodel", "onnx", "all"]),
    default="all",
    show_default=True,
    help="which formats to write",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=None,
    help="export directory (default: saved_models/<run name>)",
)
@click.option("--force", is_flag=True, help="replace --out if it exists")
@click.option("--opset", type=int, default=17, show_default=True, help="ONNX opset (>= 17)")
@click.option("--note", default=None, help="free text stored in metadata.json")
def command(run_dir, fmt, out, force, opset, note):
    """Export a run's encoder (SavedModel, ONNX) and check parity.

    Every export is checked against the Keras encoder of RUN_DIR on 10,000 samples of the run's
    data distribution (max abs difference at most 1e-5) before it is moved into place; the
    command exits 1 if that fails. An image encoder is checked on 1,024 rendered images (or
    the run's folder images), within 1e-5 * max(1, max |z_hat|).
    """
    from tfclica.cli.quiet import import_tensorflow_quietly

    import_tensorflow_quietly()
    from tfclica.export import FORMATS, export_run

    formats = FORMATS if fmt == "all" else (fmt,)
    metadata = export_run(
        run_dir,
        out,
        formats=formats,
        force=force,
        opset=opset,
        note=note,
        log=lambda message: click.echo(message, err=True),
    )
    parity = metadata["parity"]
    target = out if out is not None else Path("saved_models") / metadata["run_name"]
    click.echo(f"exported {run_dir} -> {target}")
    for name, diff in parity["max_abs_diff"].items():
        click.echo(
            f"parity {name:<10} max |diff| {diff:.3g} on {parity['samples']} samples "
            f"(tolerance {parity['tolerance']:g})"
        )
