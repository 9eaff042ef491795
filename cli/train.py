"""``tfclica train``: train one experiment into a run directory."""

from __future__ import annotations

import time
from pathlib import Path

import click

from tfclica.cli.options import (
    OBJECTIVE_HELP,
    PRECISION_HELP,
    SCHEDULE_FLAGS,
    STRATEGY_HELP,
    XLA_HELP,
    choice,
    experiment_options,
    resolve_config,
    schedule_options,
    setting_options,
    setting_overrides,
)

# What a resumed run may change: its length, cadence and early stop, and where it runs; not what
# it trains on or how (the lr schedule, Adam, clipping), so config.toml still reruns it exactly.
RESUME_MAY_CHANGE = {
    "steps",
    "eval_every",
    "checkpoint_every",
    "strategy",
    "stop_at",
    "steps_per_call",
}


def _positive_int(ctx, param, value):
    if value is not None and value <= 0:
        raise click.BadParameter(f"must be a positive integer, got {value}")
    return value


@click.command("train")
@experiment_options
@click.option("--steps", type=int, default=None, callback=_positive_int, help="training steps")
@click.option(
    "--batch-size",
    type=int,
    default=None,
    callback=_positive_int,
    help="positive pairs per step (global batch)",
)
@click.option("--lr", type=float, default=None, help="Adam learning rate")
@click.option("--seed", type=int, default=None, help="seed of g, the encoder and the sampling")
@click.option(
    "--eval-every", type=int, default=None, callback=_positive_int, help="steps between evaluations"
)
@click.option(
    "--eval-samples",
    type=int,
    default=None,
    callback=_positive_int,
    help="fresh samples per evaluation (the final scores draw a fit and a held-out set of "
    "this size)",
)
@click.option(
    "--checkpoint-every",
    type=int,
    default=None,
    callback=_positive_int,
    help="steps between checkpoints",
)
@click.option(
    "--steps-per-call",
    type=int,
    default=None,
    callback=_positive_int,
    help="training steps per call of the compiled step (a loop on the device; the weights do "
    "not depend on it)",
)
@click.option("--strategy", type=choice("strategy"), default=None, help=STRATEGY_HELP)
@click.option("--xla", type=choice("xla"), default=None, help=XLA_HELP)
@click.option("--precision", type=choice("precision"), default=None, help=PRECISION_HELP)
@click.option("--objective", type=choice("objective"), default=None, help=OBJECTIVE_HELP)
@click.option(
    "--data-shards",
    type=int,
    default=None,
    callback=_positive_int,
    help="draw each global batch as N seeded shards (default: one per replica); a one-device "
    "run with N shards reproduces an N-replica run",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=None,
    help="run directory (default: runs/<preset>-seed<seed>-<time>)",
)
@click.option("--resume", is_flag=True, help="continue the run in --out from its checkpoint")
@schedule_options
@setting_options
def command(preset, config_file, out, resume, data_shards, **kwargs):
    """Train, evaluate, and write a run directory (config, mixing, checkpoints, metrics)."""
    from tfclica import rundir
    from tfclica.errors import ConfigError

    overrides = setting_overrides(kwargs)
    overrides.update(setting_overrides(kwargs, SCHEDULE_FLAGS))
    overrides.update({k: v for k, v in kwargs.items() if v is not None})
    if resume:
        if out is None:
            raise ConfigError("--resume needs --out RUN_DIR")
        rundir.prepare_run_dir(Path(out), resume=True)
        changed = sorted(set(overrides) - RESUME_MAY_CHANGE)
        if preset or config_file or data_shards or changed:
            given = [f"--{k.replace('_', '-')}" for k in changed]
            given += ["--preset"] * bool(preset) + ["--config"] * bool(config_file)
            given += ["--data-shards"] * bool(data_shards)
            allowed = ", ".join(f"--{k.replace('_', '-')}" for k in sorted(RESUME_MAY_CHANGE))
            raise ConfigError(
                f"--resume continues {out} as configured; only {allowed} may change "
                f"(got {', '.join(given)})"
            )
        cfg = resolve_config(None, Path(out) / rundir.CONFIG_FILE, overrides)
        _check_resumed_steps(cfg, Path(out) / rundir.CONFIG_FILE)
    else:
        cfg = resolve_config(preset, config_file, overrides)
    if out is None:
        out = Path("runs") / f"{cfg.preset}-seed{cfg.seed}-{time.strftime('%Y%m%d-%H%M%S')}"
    from tfclica.cli.quiet import import_tensorflow_quietly

    import_tensorflow_quietly()
    from tfclica.evaluation.scoring import check_evaluable
    from tfclica.training.strategy import resolve_strategy

    check_evaluable(cfg)  # a run that could not be scored is refused before anything is written

    # First: a strategy that cannot run here is a usage error before anything is written, and
    # MultiWorkerMirroredStrategy must exist before other TensorFlow ops run.
    resolve_strategy(cfg.strategy)
    run_dir = rundir.prepare_run_dir(Path(out), resume=resume)

    from tfclica.cli.progress import ProgressBar
    from tfclica.training import TrainingRun

    click.echo(f"run directory: {run_dir}", err=True)
    trainer = TrainingRun(
        cfg, run_dir, on_progress=ProgressBar(line_every=cfg.eval_every), data_shards=data_shards
    )
    if trainer.restored_from:
        click.echo(f"resuming from {trainer.restored_from}", err=True)
    try:
        metrics = trainer.fit()
    except KeyboardInterrupt:
        click.echo(
            f"\ninterrupted; continue with: tfclica train --resume --out {run_dir}", err=True
        )
        raise SystemExit(130) from None
    click.echo(format_scores(metrics))
    if "supervised" in metrics:
        click.echo("supervised baseline\n" + format_scores(metrics["supervised"]))
    for warning in failure_lines(metrics):
        click.echo(warning)


def failure_lines(m: dict) -> list[str]:
    """Lines that say a run failed, so nobody mistakes its scores for a result."""
    lines = []
    if m.get("collapsed"):
        lines.append(
            "FAILED: the encodings collapsed (near-zero variance; the loss then sits at "
            "log(batch + 1)): this run learned nothing"
        )
    if m.get("below_identity"):
        lines.append(
            "FAILED: below the identity baseline on held-out R^2 and MCC: the encoder recovers "
            "less of z than g's own output does"
        )
    elif m.get("below_identity_r2"):
        lines.append(
            f"WARNING: held-out R^2 {m['r2_linear_heldout']:.4f} is below the identity "
            f"baseline's held-out {m['identity']['r2_linear_heldout']:.4f}"
        )
    return lines


def _check_resumed_steps(cfg, config_file: Path) -> None:
    """A decaying lr schedule ends at ``steps``: changing it on resume would leave a run whose
    config.toml no longer reruns it (its first part followed the old schedule)."""
    from tfclica.config.experiment import parse_toml
    from tfclica.errors import ConfigError

    before = parse_toml(config_file.read_text(), str(config_file)).get("steps", cfg.steps)
    if cfg.lr_schedule in ("warmup-cosine", "warmup-linear") and cfg.steps != before:
        raise ConfigError(
            f"--steps {cfg.steps}: lr_schedule={cfg.lr_schedule!r} decays over the run's "
            f"{before} steps, so a resumed run cannot change them"
        )


def format_scores(m: dict) -> str:
    """The final scores as a few aligned lines."""
    nonlinear = "n/a" if m.get("r2_nonlinear") is None else f"{m['r2_nonlinear']:.4f}"
    lines = [
        f"R^2 linear        {m['r2_linear']:.4f}   (held-out {m['r2_linear_heldout']:.4f})",
        f"R^2 nonlinear     {nonlinear}",
        f"MCC Pearson       {m['mcc_pearson']:.4f}   (Spearman {m['mcc_spearman']:.4f})",
    ]
    if m.get("identity") is None:  # an image folder: there is no g to score
        lines.append("identity g        n/a (no generator g: the images come from a folder)")
    else:
        lines.append(
            f"identity g        R^2 held-out {m['identity']['r2_linear_heldout']:.4f}   "
            f"MCC {m['identity']['mcc_pearson']:.4f}"
        )
    if "wall_seconds" in m:  # absent in the nested "supervised" scores
        rate = m["samples_per_second"] or 0
        lines.append(f"time              {m['wall_seconds']:.1f} s, {rate:.0f} pairs/s")
    return "\n".join(lines)
