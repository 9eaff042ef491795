import json

import numpy as np
import pytest

from tfclica import rundir
from tfclica.presets import get_preset
from tfclica.rundir import METRIC_KEYS
from tfclica.training import TrainingRun

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
    objective="both",
    baseline_steps=450,  # the baseline's own, shorter schedule
)


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    run_dir = rundir.prepare_run_dir(tmp_path_factory.mktemp("run") / "r")
    cfg = (
        get_preset("default")
        .config.replace(lr_schedule="constant", warmup_steps=0)
        .replace(**SMALL)
    )
    metrics = TrainingRun(cfg, run_dir).fit()
    return cfg, run_dir, metrics


def test_training_beats_identity_baseline(trained_run):
    _, _, m = trained_run
    # g alone scores about 0.6-0.7 here; a working pipeline reaches > 0.9 in 600 steps, and a
    # broken one (wrong loss sign, no gradient, shuffled pairs) stays at or below g.
    assert m["r2_linear_heldout"] > m["identity"]["r2_linear"] + 0.15
    assert m["r2_linear_heldout"] > 0.85


def test_supervised_baseline_sits_beside_the_contrastive_scores(trained_run):
    _, run_dir, m = trained_run
    assert m["objective"] == "unsupervised"
    sup = m["supervised"]
    assert set(sup) >= {"r2_linear", "r2_linear_heldout", "mcc_pearson", "identity"}
    # Regressing z directly is the easy problem: 450 MSE steps reach R^2 > 0.9 (g alone about
    # 0.6-0.7); a baseline that trained the wrong target or nothing stays near g.
    assert sup["r2_linear_heldout"] > 0.9 > m["identity"]["r2_linear"]
    assert (run_dir / "encoder_supervised.keras").is_file()
    assert sup["steps"] == 450  # baseline_steps, not the contrastive run's 600
    assert any((run_dir / "checkpoints" / "supervised").glob("ckpt-450*"))
    assert not any((run_dir / "checkpoints" / "supervised").glob("ckpt-600*"))


def _scalars(log_dir):
    import tensorflow as tf

    values = {}
    for path in sorted(log_dir.glob("events.out.tfevents.*")):
        for record in tf.data.TFRecordDataset(str(path)):
            event = tf.compat.v1.Event.FromString(record.numpy())
            for v in event.summary.value:
                assert v.metadata.plugin_data.plugin_name == "scalars"
                values.setdefault(v.tag, {})[event.step] = float(tf.make_ndarray(v.tensor))
    return values


def test_tensorboard_scalars(trained_run):
    cfg, run_dir, m = trained_run
    scalars = _scalars(run_dir / "logs")
    assert sorted(scalars["loss"]) == list(range(1, cfg.steps + 1))
    evals = list(range(cfg.eval_every, cfg.steps + 1, cfg.eval_every))
    for tag in ("r2_linear", "mcc_pearson", "learning_rate", "pairs_per_second"):
        assert sorted(scalars[tag]) == evals, tag
    assert scalars["learning_rate"][evals[-1]] == pytest.approx(cfg.lr)
    assert all(0.0 < v <= 1.0 for v in scalars["r2_linear"].values())
    # The baseline logs apart, so the two loss curves are not interleaved.
    assert sorted(_scalars(run_dir / "logs" / "supervised")["loss"])[-1] == cfg.baseline_steps


def test_run_directory_follows_the_contract(trained_run):
    cfg, run_dir, m = trained_run
    on_disk = json.loads((run_dir / "metrics.json").read_text())
    assert set(on_disk) >= METRIC_KEYS
    assert on_disk["steps"] == cfg.steps and on_disk["batch_size"] == cfg.batch_size
    assert on_disk["eval_samples"] == cfg.eval_samples
    assert set(on_disk["identity"]) == {"r2_linear", "r2_linear_heldout", "mcc_pearson", "method"}
    assert on_disk["samples_per_second"] > 0
    assert rundir.load_config(run_dir) == cfg.replace(encoder_widths=cfg.hidden_widths)
    assert rundir.load_mixing(run_dir).dim == cfg.dim
    assert (run_dir / "encoder.keras").is_file()
    assert any((run_dir / "checkpoints").glob("ckpt-600*"))
    assert any((run_dir / "logs").iterdir())


def test_saved_encoder_reproduces_the_scores(trained_run):
    import keras

    from tfclica.evaluation.scoring import evaluate_encoder
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


def test_non_finite_loss_stops_naming_the_step_and_keeps_the_last_checkpoint(
    tmp_path, monkeypatch, capsys
):
    import tensorflow as tf

    from tfclica.cli.main import main
    from tfclica.training import TrainStep

    original = TrainStep._loss_and_grads

    def diverging(self, *args, **kwargs):
        # -inf from the 4th step on (step variable 3): log(0); a function of the step
        # variable, because the compiled step is traced once.
        loss, grads = original(self, *args, **kwargs)
        return loss + tf.math.log(tf.cast(self.state.step < 3, tf.float32)), grads

    monkeypatch.setattr(TrainStep, "_loss_and_grads", diverging)
    out = tmp_path / "run"
    argv = ["train", "--dim", "3", "--steps", "10", "--batch-size", "32", "--checkpoint-every"]
    argv += ["2", "--warmup-steps", "0", "--strategy", "default", "--out", str(out)]
    with pytest.raises(SystemExit) as stop:
        main(argv)
    assert stop.value.code == 1
    err = capsys.readouterr().err
    assert "loss became -inf at step 4" in err and "ckpt-2" in err
    assert "Traceback" not in err
    kept = sorted(p.name for p in (out / "checkpoints").glob("ckpt-*.index"))
    assert kept == ["ckpt-2.index"]
    assert not (out / "encoder.keras").exists()


@pytest.mark.parametrize(
    ("strategy", "message"),
    [("tpu", "no TPU found"), ("multi-worker", "needs the TF_CONFIG")],
)
def test_unavailable_strategy_is_a_one_line_config_error(tmp_path, capsys, strategy, message):
    from tfclica.cli.main import main

    with pytest.raises(SystemExit) as stop:
        main(
            [
                "train",
                "--steps",
                "2",
                "--warmup-steps",
                "2",
                "--strategy",
                strategy,
                "--out",
                str(tmp_path / "r"),
            ]
        )
    assert stop.value.code == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1
    assert not (tmp_path / "r").exists()  # nothing written


def test_batch_that_does_not_split_into_shards_is_a_config_error(tmp_path):
    from tfclica.errors import ConfigError

    cfg = (
        get_preset("default")
        .config.replace(lr_schedule="constant", warmup_steps=0)
        .replace(dim=3, batch_size=63, strategy="default")
    )
    with pytest.raises(ConfigError, match="batch_size=63"):
        TrainingRun(cfg, rundir.prepare_run_dir(tmp_path / "r"), data_shards=2)
