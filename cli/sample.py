"""``tfclica sample``: draw positive pairs of a setting and their observations into an .npz."""

from __future__ import annotations

from pathlib import Path

import click

from tfclica.cli.options import (
    experiment_options,
    resolve_config,
    setting_options,
    setting_overrides,
)

# Pairs drawn per compiled call: one XLA program serves every N (the last chunk is cut).
_CHUNK = 65_536


@click.command("sample")
@experiment_options
@click.option("-n", "--num-samples", type=int, required=True, help="number of positive pairs")
@click.option("--out", type=click.Path(path_type=Path), required=True, help="output file (.npz)")
@click.option("--seed", type=int, default=None, help="seed of g and of the samples")
@click.option(
    "--mixing",
    "mixing_dir",
    type=click.Path(path_type=Path),
    default=None,
    help="run directory whose frozen g maps z to x (default: g drawn from the seed, as train)",
)
@setting_options
def command(preset, config_file, num_samples, out, seed, mixing_dir, **kwargs):
    """Write arrays z, z_tilde (latent pairs) and x, x_tilde (their observations g(z)) to OUT.

    With the same preset, flags and seed as `tfclica train`, g is the one that run trains on.
    """
    if num_samples <= 0:
        raise click.BadParameter(f"must be a positive integer, got {num_samples}", param_hint="-n")
    overrides = setting_overrides(kwargs)
    if seed is not None:
        overrides["seed"] = seed
    cfg = resolve_config(preset, config_file, overrides)
    if not Path(out).parent.is_dir():
        from tfclica.errors import ConfigError

        raise ConfigError(f"--out {out}: {Path(out).parent} is not a directory")
    from tfclica.cli.quiet import import_tensorflow_quietly

    import_tensorflow_quietly()
    import io

    import numpy as np

    from tfclica import rundir
    from tfclica.errors import ConfigError
    from tfclica.observations.mixing import build_mixing

    if mixing_dir is not None:
        mixing = rundir.load_mixing(Path(mixing_dir))
        if mixing.dim != cfg.dim:
            raise ConfigError(f"--mixing {mixing_dir} maps dim {mixing.dim}, setting has {cfg.dim}")
    else:
        mixing = build_mixing(cfg.dim, cfg.mixing_layers, seed=cfg.seed)
    arrays = draw(cfg, mixing, num_samples)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    rundir.atomic_write_bytes(Path(out), buffer.getvalue())
    click.echo(f"wrote {num_samples} pairs ({cfg.space}, {cfg.conditional}) to {out}", err=True)


def draw(cfg, mixing, num: int) -> dict:
    """``num`` pairs of ``cfg``'s setting and their images under ``mixing``, as NumPy arrays."""
    import numpy as np
    import tensorflow as tf

    from tfclica.latents import build_pair_sampler, seeds
    from tfclica.streams import Stream, seed_of

    sampler = build_pair_sampler(cfg)
    chunk = min(num, _CHUNK)

    @tf.function(jit_compile=True)
    def pairs(seed):
        z, z_tilde = sampler.sample_pairs(chunk, seed)
        return z, z_tilde, mixing(z), mixing(z_tilde)

    # Stream [seed, 2]: apart from training's [seed, 0] and in-training evaluation's [seed, 1].
    base = seeds.as_seed(seed_of(cfg.seed, Stream.SAMPLE))
    parts = [pairs(seeds.fold(base, i)) for i in range(-(-num // chunk))]
    names = ("z", "z_tilde", "x", "x_tilde")
    return {k: np.concatenate([p[j].numpy() for p in parts])[:num] for j, k in enumerate(names)}
