"""``tfclica evaluate``: score a run's encoder, or any exported encoder, on fresh samples."""

from __future__ import annotations

import json
from pathlib import Path

import click


@click.command("evaluate")
@click.argument("run_dir", required=False, type=click.Path(path_type=Path))
@click.option(
    "--model",
    type=click.Path(path_type=Path),
    default=None,
    help="SavedModel directory, .onnx or .keras file, or export directory",
)
@click.option(
    "--mixing",
    type=click.Path(path_type=Path),
    default=None,
    help="run or export directory holding the g the model was trained on (default: beside it); "
    "for a run on an image folder: the folder, if it moved (default: the one its config names)",
)
@click.option("--samples", type=int, default=None, help="fit and held-out samples each")
@click.option("--seed", type=int, default=None, help="seed of the fresh samples (default: run's)")
@click.option("--out", type=click.Path(path_type=Path), default=None, help="also write JSON here")
def command(run_dir, model, mixing, samples, seed, out):
    """Score a run or an exported encoder on fresh samples.

    Prints the metrics.json fields as JSON for RUN_DIR or --model PATH. The scores are new;
    preset, seed, steps, batch_size, wall_seconds and samples_per_second describe the run that
    trained the encoder.
    """
    if (run_dir is None) == (model is None):
        raise click.UsageError("give either RUN_DIR or --model PATH")
    if samples is not None and samples < 2:
        raise click.BadParameter(f"must be at least 2, got {samples}", param_hint="--samples")
    if out is not None and not Path(out).parent.is_dir():
        raise click.BadParameter(f"{Path(out).parent} is not a directory", param_hint="--out")

    from tfclica.cli.quiet import import_tensorflow_quietly

    import_tensorflow_quietly()
    from tfclica import rundir
    from tfclica.export import evaluate_model

    metrics = evaluate_model(run_dir or model, mixing=mixing, num_samples=samples, seed=seed)
    text = json.dumps(metrics, indent=2) + "\n"
    if out is not None:
        rundir.atomic_write_text(Path(out), text)
    click.echo(text, nl=False)
    click.echo(
        f"{metrics['format']}: R^2 linear {metrics['r2_linear']:.4f} "
        f"(held-out {metrics['r2_linear_heldout']:.4f}), MCC {metrics['mcc_pearson']:.4f}",
        err=True,
    )
    from tfclica.cli.train import failure_lines

    for warning in failure_lines(metrics):
        click.echo(warning, err=True)
