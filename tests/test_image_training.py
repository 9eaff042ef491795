"""Image experiments end to end: config validation, the 3dident preset, training on rendered
pairs, and per-factor scores."""

import numpy as np
import pytest

from tfclica import rundir
from tfclica.config.experiment import ExperimentConfig
from tfclica.errors import ConfigError
from tfclica.evaluation.factor_scores import per_factor_scores
from tfclica.evaluation.metrics import linear_r2, mcc
from tfclica.presets import get_preset

RENDER = dict(space="box", box_low=-1.0, box_high=1.0, conditional="normal", dim=10)


@pytest.mark.parametrize(
    ("settings", "needle"),
    [
        (dict(observations="pixels"), "observations='pixels'"),
        (dict(encoder="vgg"), "encoder='vgg'"),
        (dict(encoder="cnn"), "encoder='cnn' needs image observations"),
        (dict(observations="render", **RENDER), "got 'mlp'"),
        (dict(observations="render", encoder="cnn", **{**RENDER, "dim": 7}), "got 7"),
        (dict(observations="render", encoder="cnn", **{**RENDER, "box_high": 2.0}), "box_high=2"),
        (dict(observations="render", encoder="cnn", image_size=8, **RENDER), "image_size"),
        (
            dict(observations="render", encoder="resnet50", image_size=16, **RENDER),
            "image_size >= 32",
        ),
    ],
)
def test_bad_image_settings_name_the_value(settings, needle):
    with pytest.raises(ConfigError, match=needle.replace("(", r"\(")):
        ExperimentConfig(**settings)


def test_3dident_preset_is_the_reference_setting_at_the_width_it_trains_on():
    # sigma 0.25, not the reference's nominal 0.1: its nearest-image pairs are 0.261 apart per
    # coordinate on the published dataset (tools/pair_width.py; tests/test_pair_width.py).
    cfg = get_preset("3dident").config
    assert (cfg.space, cfg.box_low, cfg.box_high, cfg.dim) == ("box", -1.0, 1.0, 10)
    assert (cfg.marginal, cfg.conditional, cfg.conditional_scale) == ("uniform", "normal", 0.25)
    assert (cfg.loss, cfg.model_p, cfg.head) == ("lp", 2.0, "none")
    assert cfg.tau == pytest.approx(2 * cfg.conditional_scale**2)  # matched at unit scale
    assert (cfg.observations, cfg.encoder) == ("render", "cnn")


def _two_steps():
    """The 3dident preset, two steps on 16x16 images (no warmup: it would outlast the run)."""
    return get_preset("3dident").config.replace(
        image_size=16, batch_size=16, steps=2, steps_per_call=2, eval_samples=64, eval_every=2,
        warmup_steps=0,
    )  # fmt: skip


def test_a_few_steps_on_rendered_pairs_change_the_weights(tmp_path):
    from tfclica.training import TrainingRun

    cfg = _two_steps()
    run_dir = rundir.prepare_run_dir(tmp_path / "run")
    run = TrainingRun(cfg, run_dir)
    assert run.train_step.xla_mode == "sampling"  # no GPU here: conv gradients outside XLA
    before = [w.numpy().copy() for w in run.encoder.trainable_weights]
    losses = run.train_step(2)
    assert losses.shape == (2,) and np.isfinite(losses).all()
    changed = [
        not np.array_equal(b, w.numpy()) for b, w in zip(before, run.encoder.trainable_weights)
    ]
    assert all(changed)  # every layer learned from the rendered pairs
    # The run directory holds the renderer, and a resumed run gets the same one back.
    assert rundir.load_mixing(run_dir).spec()["kind"] == "render-3dident"
    again = TrainingRun(cfg, run_dir)
    assert again.data.source == run.data.source
    with pytest.raises(ConfigError, match="shape"):
        TrainingRun(cfg.replace(image_size=24), run_dir)


def test_per_factor_scores_find_the_factor_that_is_not_recovered():
    rng = np.random.default_rng(0)
    z_fit, z_test = rng.uniform(-1, 1, (2, 3000, 4))
    mix = np.array([[0, 2.0, 0, 0], [-1.0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0.5, 0]])

    def encode(z):  # factors 0, 1, 3 recovered up to permutation, sign, scale; factor 2 lost
        return z @ mix + np.c_[np.zeros((len(z), 3)), rng.normal(size=len(z))]

    h_fit, h_test = encode(z_fit), encode(z_test)
    names = ("a", "b", "c", "d")
    scores = per_factor_scores(z_fit, h_fit, z_test, h_test, names)
    assert list(scores) == list(names)
    for name in ("a", "b", "d"):
        assert scores[name]["r2_linear_heldout"] > 0.999 and scores[name]["mcc_pearson"] > 0.999
    assert abs(scores["c"]["r2_linear_heldout"]) < 0.01 and scores["c"]["mcc_pearson"] < 0.05
    assert [scores[n]["matched_dim"] for n in ("a", "b", "d")] == [1, 0, 2]
    # Their means are the run's mean scores.
    r2 = np.mean([s["r2_linear_heldout"] for s in scores.values()])
    assert r2 == pytest.approx(linear_r2(z_fit, h_fit, z_test, h_test), abs=1e-12)
    assert np.mean([s["mcc_pearson"] for s in scores.values()]) == pytest.approx(
        mcc(z_test, h_test), abs=1e-12
    )
    with pytest.raises(ConfigError, match="3 factor names for 4"):
        per_factor_scores(z_fit, h_fit, z_test, h_test, names[:3])


def test_fit_writes_per_factor_scores_with_the_factor_names(tmp_path):
    import json

    from tfclica.observations.renderer import FACTOR_NAMES
    from tfclica.training import TrainingRun

    cfg = _two_steps()
    run_dir = rundir.prepare_run_dir(tmp_path / "run")
    metrics = TrainingRun(cfg, run_dir).fit()
    assert list(metrics["per_factor"]) == list(FACTOR_NAMES)
    stored = json.loads((run_dir / "metrics.json").read_text())["per_factor"]
    r2 = np.mean([s["r2_linear_heldout"] for s in stored.values()])
    assert r2 == pytest.approx(metrics["r2_linear_heldout"], abs=1e-9)  # the same samples
    assert (run_dir / "latents.png").stat().st_size > 0


@pytest.mark.parametrize(
    "preset, alignment",
    [("3dident", "linear"), ("default", "linear"), ("box-laplace", "permutation")],
)
def test_latents_picture_aligns_as_the_setting_is_identifiable(preset, alignment):
    # An L2 model in a box (3dident) identifies z up to a rotation, like the sphere: a
    # permutation-aligned picture of it would show scatter where the affine map shows recovery.
    from tfclica.training.run import picture_alignment

    assert picture_alignment(get_preset(preset).config) == alignment
