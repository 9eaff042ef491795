"""The training loop's contracts: steps per call never change the weights, the evaluation
history and time-to-score agree, --stop-at ends a run early, schedules are applied, and runs
that cannot be scored or that failed say so."""

import json

import numpy as np
import pytest

from tfclica import rundir
from tfclica.presets import get_preset
from tfclica.training import SCORE_THRESHOLDS, TrainingRun, time_to_score

TINY = get_preset("default").config.replace(lr_schedule="constant", warmup_steps=0).replace(
    dim=3, encoder_widths=(16, 16), steps=12, batch_size=32, eval_every=4,
    checkpoint_every=6, eval_samples=256, strategy="default",
)  # fmt: skip


def _weights(cfg, path):
    run = TrainingRun(cfg, rundir.prepare_run_dir(path))
    run.run_steps()
    return [w.numpy() for w in run.encoder.weights], run


@pytest.mark.parametrize("xla", ["step", "sampling"])
def test_steps_per_call_never_changes_the_weights(tmp_path, xla):
    # 12 steps as 12 calls of 1, as calls of at most 5 (4+... cut at evaluations and checkpoints:
    # 4, 2, 2, 4) and as calls of up to 50: each step is the same computation, so identical bits.
    results = [
        _weights(TINY.replace(xla=xla, steps_per_call=k), tmp_path / f"k{k}")[0] for k in (1, 5, 50)
    ]
    for other in results[1:]:
        assert all(np.array_equal(a, b) for a, b in zip(results[0], other, strict=True))


def test_history_and_time_to_score_agree_with_the_logged_evaluations(tmp_path):
    cfg = TINY.replace(steps=40, eval_every=8, lr=3e-3)
    metrics = TrainingRun(cfg, rundir.prepare_run_dir(tmp_path / "r")).fit()
    history = json.loads((tmp_path / "r" / rundir.HISTORY_FILE).read_text())
    assert [h["step"] for h in history] == [8, 16, 24, 32, 40]
    seconds = [h["seconds"] for h in history]
    assert seconds == sorted(seconds) and seconds[0] > 0
    assert metrics["train_seconds"] == pytest.approx(seconds[-1])
    for score, thresholds in SCORE_THRESHOLDS.items():
        for threshold in thresholds:
            hit = metrics["time_to_score"][score][str(threshold)]
            first = next((h for h in history if h[score] >= threshold), None)
            if first is None:
                assert hit is None
            else:
                assert hit == {"step": first["step"], "seconds": first["seconds"]}
    assert time_to_score([]) == {
        s: {str(t): None for t in ts} for s, ts in SCORE_THRESHOLDS.items()
    }


def test_stop_at_ends_the_run_at_the_first_evaluation_reaching_it(tmp_path):
    # Held-out R^2 at the first evaluation (step 4) of this setting is far above 0.05 (g alone
    # scores about 0.6 at n = 3), so the run stops there, checkpointed.
    cfg = TINY.replace(stop_at="r2=0.05")
    metrics = TrainingRun(cfg, rundir.prepare_run_dir(tmp_path / "r")).fit()
    assert metrics["stopped_early"] and metrics["steps_done"] == 4
    assert any((tmp_path / "r" / "checkpoints").glob("ckpt-4.index"))


def test_the_schedule_is_applied_at_the_logged_steps(tmp_path):
    import tensorflow as tf

    from tfclica.training.optim import learning_rate

    cfg = TINY.replace(steps=16, lr=1e-2, lr_schedule="warmup-cosine", warmup_steps=8)
    TrainingRun(cfg, rundir.prepare_run_dir(tmp_path / "r")).fit()
    schedule = learning_rate(cfg)
    logged = {}
    for path in (tmp_path / "r" / "logs").glob("events.out.tfevents.*"):
        for record in tf.data.TFRecordDataset(str(path)):
            event = tf.compat.v1.Event.FromString(record.numpy())
            for v in event.summary.value:
                if v.tag == "learning_rate":
                    logged[event.step] = float(tf.make_ndarray(v.tensor))
    assert sorted(logged) == [4, 8, 12, 16]
    for step, value in logged.items():  # the rate of the next update, after `step` updates
        assert value == pytest.approx(float(schedule(step)), rel=1e-6)
    assert logged[4] < logged[8] and logged[16] < logged[12] < logged[8]


def test_too_few_evaluation_samples_is_refused_before_anything_is_written(tmp_path, capsys):
    from tfclica.cli.main import main

    with pytest.raises(SystemExit) as stop:
        main(["train", "--eval-samples", "1", "--out", str(tmp_path / "r")])
    assert stop.value.code == 2
    err = capsys.readouterr().err.strip()
    assert "eval_samples=1" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "r").exists()


def test_constant_encodings_are_scored_and_flagged_not_crashed():
    from tfclica.cli.train import failure_lines
    from tfclica.evaluation.scoring import evaluate_encoder
    from tfclica.latents import build_pair_sampler
    from tfclica.observations.mixing import build_mixing

    cfg = TINY
    mixing = build_mixing(cfg.dim, cfg.mixing_layers, seed=0, pilot_draws=200)
    scores = evaluate_encoder(
        lambda x: np.full((len(x), cfg.dim), 0.3, np.float32),
        build_pair_sampler(cfg), mixing, 256, seed=(0, 2),
    )  # fmt: skip
    assert scores["collapsed"] and scores["below_identity"]
    for key in ("r2_linear", "r2_linear_heldout", "r2_nonlinear", "mcc_pearson", "mcc_spearman"):
        assert np.isfinite(scores[key]) and scores[key] <= 1e-6, key
    assert [line.split(":")[0] for line in failure_lines(scores)] == ["FAILED", "FAILED"]
