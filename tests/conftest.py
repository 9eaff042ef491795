"""Shared test set-up: quiet TensorFlow logs and make runs deterministic."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


import pytest  # noqa: E402

# A small run of the default setting (n=4, narrow encoder), built directly in the run-directory
# format rather than trained: export and evaluation only need a finished run, not a good one.
SMALL_RUN = dict(dim=4, encoder_widths=(32, 64, 32), steps=10, eval_samples=512, seed=3)


def _make_run_dir(path, **overrides):
    """A finished run directory (config, mixing, encoder.keras, metrics) without training."""
    from tfclica import rundir
    from tfclica.evaluation.scoring import evaluate_encoder
    from tfclica.latents import build_pair_sampler
    from tfclica.models.encoders import build_mlp_encoder
    from tfclica.observations.mixing import build_mixing
    from tfclica.presets import get_preset

    cfg = (
        get_preset("default")
        .config.replace(lr_schedule="constant", warmup_steps=0)
        .replace(**{**SMALL_RUN, **overrides})
    )
    run_dir = rundir.prepare_run_dir(path)
    mixing = build_mixing(cfg.dim, cfg.mixing_layers, seed=cfg.seed, pilot_draws=500)
    rundir.save_config(run_dir, cfg)
    rundir.save_mixing(run_dir, mixing)
    encoder = build_mlp_encoder(cfg.dim, cfg.dim, cfg.hidden_widths, cfg.head, seed=cfg.seed)
    head = [layer for layer in encoder.layers if layer.name == "head" and layer.weights]
    if head:  # as training would: move trained head parameters away from their initial value
        head[0].set_weights([w * 1.7 + 0.3 for w in head[0].get_weights()])
    encoder.save(run_dir / rundir.ENCODER_FILE)
    scores = evaluate_encoder(
        lambda x: encoder(x).numpy(), build_pair_sampler(cfg), mixing, 512, seed=(cfg.seed, 2)
    )
    metrics = {"preset": cfg.preset, "seed": cfg.seed, "steps": cfg.steps}
    metrics.update(batch_size=cfg.batch_size, wall_seconds=1.0, samples_per_second=None)
    rundir.write_metrics(run_dir, {**metrics, **scores})
    return cfg, run_dir, mixing


@pytest.fixture(scope="session")
def make_run_dir():
    """``make_run_dir(path, **config_overrides) -> (cfg, run_dir, mixing)``: a finished small
    run directory, built without training."""
    return _make_run_dir
