import json

import numpy as np
import pytest

from tfclica import rundir
from tfclica.presets import get_preset
from tfclica.training import Trainer

METRIC_KEYS = {
    "preset",
    "seed",
    "steps",
    "batch_size",
    "wall_seconds",
    "samples_per_second",
    "r2_linear",
    "r2_linear_heldout",
    "r2_nonlinear",
    "mcc_pearson",
    "mcc_spearman",
    "identity",
    "eval_samples",
}

# A small, fast variant of the default preset: n=5, a narrower encoder, a short schedule.
SMALL = dict(
    dim=5,
    encoder_widths=(64, 128, 64),
    steps=600,
    batch_size=256,
    lr=3e-3,
    eval_every=200,
    checkpoint_every=300,
    eval_samples=2048,
)


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    run_dir = rundir.prepare_run_dir(tmp_path_factory.mktemp("run") / "r")
    cfg = get_preset("default").config.replace(**SMALL)
    metrics = Trainer(cfg, run_dir).fit()
    return cfg, run_dir, metrics


def test_training_beats_identity_baseline(trained_run):
    _, _, m = trained_run
    # g alone scores about 0.6-0.7 here; a working pipeline reaches > 0.9 in 600 steps, and a
    # broken one (wrong loss sign, no gradient, shuffled pairs) stays at or below g.
    assert m["r2_linear_heldout"] > m["identity"]["r2_linear"] + 0.15
    assert m["r2_linear_heldout"] > 0.85


def test_run_directory_follows_the_contract(trained_run):
    cfg, run_dir, m = trained_run
    on_disk = json.loads((run_dir / "metrics.json").read_text())
    assert set(on_disk) >= METRIC_KEYS
    assert on_disk["steps"] == cfg.steps and on_disk["batch_size"] == cfg.batch_size
    assert on_disk["eval_samples"] == cfg.eval_samples
    assert set(on_disk["identity"]) == {"r2_linear", "mcc_pearson"}
    assert on_disk["samples_per_second"] > 0
    assert rundir.load_config(run_dir) == cfg.replace(encoder_widths=cfg.hidden_widths)
    assert rundir.load_mixing(run_dir).dim == cfg.dim
    assert (run_dir / "encoder.keras").is_file()
    assert any((run_dir / "checkpoints").glob("ckpt-600*"))
    assert any((run_dir / "logs").iterdir())


def test_saved_encoder_reproduces_the_scores(trained_run):
    import keras

    import tfclica.encoders  # noqa: F401 - registers the heads for deserialisation
    from tfclica.evaluation import evaluate_encoder
    from tfclica.latents import build_pair_sampler

    cfg, run_dir, m = trained_run
    encoder = keras.saving.load_model(run_dir / "encoder.keras")
    again = evaluate_encoder(
        lambda x: np.asarray(encoder(x)),
        build_pair_sampler(cfg),
        rundir.load_mixing(run_dir),
        cfg.eval_samples,
        seed=(cfg.seed, 2),
    )
    assert again["r2_linear_heldout"] == pytest.approx(m["r2_linear_heldout"], abs=1e-5)
