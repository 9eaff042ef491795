"""``tfclica bench``: train-step throughput against the machine's matmul limit."""

from __future__ import annotations

import json

import click

from tfclica.cli.options import PRECISION_HELP, XLA_HELP, choice


@click.command("bench")
@click.option(
    "--preset",
    default="sphere-vmf-paper",
    show_default=True,
    help="setting to benchmark (default: the paper's n=10 sphere/vMF at batch 6144)",
)
@click.option(
    "--steps",
    type=click.IntRange(min=1),
    default=10,
    show_default=True,
    help="timed steps per repeat",
)
@click.option(
    "--repeats",
    type=click.IntRange(min=1),
    default=3,
    show_default=True,
    help="repeats; the median is reported",
)
@click.option("--batch-size", type=click.IntRange(min=1), default=None, help="override the batch")
@click.option("--precision", type=choice("precision"), default=None, help=PRECISION_HELP)
@click.option("--xla", type=choice("xla"), default=None, help=XLA_HELP)
@click.option(
    "--steps-per-call",
    type=click.IntRange(min=1),
    default=None,
    help="steps per call of the compiled step (default: the preset's)",
)
@click.option("--json", "as_json", is_flag=True, help="print one JSON object")
def command(preset, steps, repeats, batch_size, precision, xla, steps_per_call, as_json):
    """Measure train steps/s, pairs/s, GFLOP/s and the same-process GEMM peak."""
    from tfclica.presets import get_preset

    cfg = get_preset(preset).config.replace(
        batch_size=batch_size, precision=precision, xla=xla, steps_per_call=steps_per_call
    )

    from tfclica.cli.quiet import import_tensorflow_quietly

    import_tensorflow_quietly()
    from tfclica.experiments.bench import format_report, run_bench

    result = run_bench(cfg, steps=steps, repeats=repeats)
    click.echo(json.dumps(result) if as_json else format_report(result))
