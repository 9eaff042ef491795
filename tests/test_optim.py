"""build_optimizer: the learning rate at chosen steps, Adam's constants, clipping, resume.

The two-replica check needs logical CPU devices configured before TensorFlow initialises, so it
runs in a child process (this file run as a script) that prints its measurements as JSON.
"""

import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest

from tfclica.config.experiment import ExperimentConfig

LR, WARMUP, STEPS, FINAL = 2e-3, 100, 1000, 0.1


def reference_lr(schedule: str, step: int) -> float:
    """The documented schedule, written out independently: update n = step + 1."""
    n = step + 1
    if schedule == "constant":
        return LR
    if n <= WARMUP:
        return LR * n / WARMUP
    t = min(1.0, (n - WARMUP) / (STEPS - WARMUP))
    shape = {
        "warmup-constant": 1.0,
        "warmup-cosine": 0.5 * (1 + math.cos(math.pi * t)),
        "warmup-linear": 1 - t,
    }[schedule]
    return LR * FINAL + (LR - LR * FINAL) * shape


def config(schedule: str, **overrides) -> ExperimentConfig:
    warmup = 0 if schedule == "constant" else WARMUP
    return ExperimentConfig(
        lr=LR, steps=STEPS, lr_schedule=schedule, warmup_steps=warmup, lr_final_fraction=FINAL
    ).replace(**overrides)


def built(cfg, shapes=((2,),)):
    import tensorflow as tf

    from tfclica.training.optim import build_optimizer

    variables = [tf.Variable(np.ones(s, np.float32)) for s in shapes]
    optimizer = build_optimizer(cfg)
    optimizer.build(variables)
    return optimizer, variables


# Step 0, mid-warmup, end of warmup, mid-decay (t = 1/2), the last step, and past the end.
CHOSEN = {0: None, 49: 0.5, 99: 1.0, 549: None, 999: None, 5000: None}


@pytest.mark.parametrize(
    "schedule", ["constant", "warmup-constant", "warmup-cosine", "warmup-linear"]
)
def test_learning_rate_at_chosen_steps(schedule):
    from tfclica.training.optim import current_learning_rate

    optimizer, _ = built(config(schedule))
    for step, warmup_fraction in CHOSEN.items():
        optimizer.iterations.assign(step)
        got = current_learning_rate(optimizer)
        want = reference_lr(schedule, step)
        if schedule != "constant" and warmup_fraction is not None:
            assert want == pytest.approx(LR * warmup_fraction)  # the reference itself
        assert got == pytest.approx(want, rel=1e-6), (schedule, step)  # float32 arithmetic
    if schedule == "warmup-cosine":  # the named points of the curve, as numbers
        values = {s: reference_lr(schedule, s) for s in CHOSEN}
        assert values[0] == pytest.approx(LR / WARMUP)
        assert values[549] == pytest.approx(LR * (FINAL + (1 - FINAL) / 2))
        assert values[999] == values[5000] == pytest.approx(LR * FINAL)


def test_the_update_uses_the_schedule_of_its_iteration_under_xla():
    # Adam's update of a fresh slot with gradient g is lr(s) * sqrt(1-b2^t)/(1-b1^t) *
    # (1-b1) g / (sqrt(1-b2) |g| + eps), t = s + 1: the applied step measures lr(s) itself.
    import tensorflow as tf

    for step in CHOSEN:
        optimizer, (var,) = built(config("warmup-cosine", adam_epsilon=1e-3))
        optimizer.iterations.assign(step)
        apply = tf.function(lambda o, v, g: o.apply_gradients([(g, v)]), jit_compile=True)
        apply(optimizer, var, tf.constant([1.0, -2.0]))
        t, b1, b2, eps = step + 1, 0.9, 0.999, 1e-3
        lr_t = reference_lr("warmup-cosine", step) * math.sqrt(1 - b2**t) / (1 - b1**t)
        g = np.array([1.0, -2.0])
        want = 1.0 - lr_t * (1 - b1) * g / (math.sqrt(1 - b2) * np.abs(g) + eps)
        np.testing.assert_allclose(var.numpy(), want, rtol=1e-6)
        assert int(optimizer.iterations.numpy()) == step + 1


def test_defaults_build_the_plain_adam_of_earlier_results():
    import keras

    optimizer, _ = built(ExperimentConfig(lr=3e-4))
    assert type(optimizer) is keras.optimizers.Adam  # no schedule object, no clipping subclass
    reference = keras.optimizers.Adam(3e-4)
    for name in ("beta_1", "beta_2", "epsilon", "global_clipnorm", "clipnorm"):
        assert getattr(optimizer, name) == getattr(reference, name), name
    optimizer.iterations.assign(10_000)
    assert float(optimizer.learning_rate.numpy()) == pytest.approx(3e-4)


def test_adam_constants_and_mixed_float16_loss_scaling():
    import keras

    from tfclica.training.optim import current_learning_rate

    cfg = config("warmup-linear", adam_beta1=0.8, adam_beta2=0.95, adam_epsilon=1e-6)
    optimizer, _ = built(cfg.replace(precision="mixed_float16"))
    assert isinstance(optimizer, keras.optimizers.LossScaleOptimizer)
    inner = optimizer.inner_optimizer
    assert (inner.beta_1, inner.beta_2, inner.epsilon) == (0.8, 0.95, 1e-6)
    optimizer.iterations.assign(549)
    assert current_learning_rate(optimizer) == pytest.approx(reference_lr("warmup-linear", 549))


def test_clipping_scales_the_global_norm_not_each_variable():
    # Gradients (3, 0) and (0, 4): global norm 5, clipped to 1 -> (0.6, 0) and (0, 0.8); a
    # per-variable clip would give (1, 0) and (0, 1). eps = 1 makes Adam's first step depend on
    # |g| (with the default eps it is nearly sign(g) * lr whatever the scale).
    import tensorflow as tf

    from tfclica.training.optim import GlobalClipAdam

    optimizer, (a, b) = built(
        ExperimentConfig(lr=0.1, clip_norm=1.0, adam_epsilon=1.0), ((2,), (2,))
    )
    assert isinstance(optimizer, GlobalClipAdam) and optimizer.global_clipnorm is None
    optimizer.apply_gradients([(tf.constant([3.0, 0.0]), a), (tf.constant([0.0, 4.0]), b)])

    def after(g):  # one Adam step from 1 with gradient g (t = 1: bias corrections cancel b1)
        lr_t = 0.1 * math.sqrt(1 - 0.999) / (1 - 0.9)
        return 1.0 - lr_t * (0.1 * g) / (math.sqrt(0.001) * np.abs(g) + 1.0)

    np.testing.assert_allclose(a.numpy(), after(np.array([0.6, 0.0])), rtol=1e-6)
    np.testing.assert_allclose(b.numpy(), after(np.array([0.0, 0.8])), rtol=1e-6)
    # Below the threshold nothing changes.
    optimizer, (c,) = built(ExperimentConfig(lr=0.1, clip_norm=10.0, adam_epsilon=1.0))
    optimizer.apply_gradients([(tf.constant([3.0, 4.0]), c)])
    np.testing.assert_allclose(c.numpy(), after(np.array([3.0, 4.0])), rtol=1e-6)


def test_a_restored_checkpoint_resumes_the_schedule(tmp_path):
    import tensorflow as tf

    from tfclica.training.optim import current_learning_rate

    cfg = config("warmup-cosine")
    optimizer, (var,) = built(cfg)
    step = tf.function(lambda: optimizer.apply_gradients([(tf.constant([1.0, 1.0]), var)]))
    for _ in range(120):  # past the warmup
        step()
    path = tf.train.Checkpoint(optimizer=optimizer, var=var).save(str(tmp_path / "ckpt"))
    again, (var2,) = built(cfg)
    tf.train.Checkpoint(optimizer=again, var=var2).restore(path).assert_consumed()
    assert int(again.iterations.numpy()) == 120
    assert current_learning_rate(again) == pytest.approx(reference_lr("warmup-cosine", 120))
    assert current_learning_rate(again) == current_learning_rate(optimizer)


def _child() -> None:
    """Two mirrored replicas, each with half of a gradient, against one device with the sum."""
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    from tfclica.training.optim import build_optimizer, current_learning_rate

    # Replica halves (3, 0) + (3, 8) sum to (6, 8), norm 10: a global clip to 2 gives (1.2, 1.6);
    # clipping each half first (Keras' global_clipnorm) would give (0.8 + ~0.7, 0 + ~1.87).
    halves = tf.constant([[3.0, 0.0], [3.0, 8.0]])
    cfg = config("warmup-cosine", lr=0.1, clip_norm=2.0, adam_epsilon=1.0)
    out = {}
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    with strategy.scope():
        var = tf.Variable([1.0, 1.0])
        optimizer = build_optimizer(cfg)
        optimizer.build([var])

    def replica_step():
        ctx = tf.distribute.get_replica_context()
        optimizer.apply_gradients([(halves[ctx.replica_id_in_sync_group], var)])

    for _ in range(3):
        tf.function(lambda: strategy.run(replica_step))()
    out["mirrored"] = var.numpy().tolist()
    # What this module avoids: Keras' global_clipnorm clips each replica's half before the sum.
    import keras

    from tfclica.training.optim import learning_rate

    with strategy.scope():
        keras_var = tf.Variable([1.0, 1.0])
        keras_clip = keras.optimizers.Adam(learning_rate(cfg), epsilon=1.0, global_clipnorm=2.0)
        keras_clip.build([keras_var])

    def keras_step():
        ctx = tf.distribute.get_replica_context()
        keras_clip.apply_gradients([(halves[ctx.replica_id_in_sync_group], keras_var)])

    for _ in range(3):
        tf.function(lambda: strategy.run(keras_step))()
    out["keras_per_replica_clip"] = keras_var.numpy().tolist()
    out["mirrored_lr"] = current_learning_rate(optimizer)
    out["mirrored_iterations"] = int(optimizer.iterations.numpy())

    single_var = tf.Variable([1.0, 1.0])
    single = build_optimizer(cfg)
    single.build([single_var])
    for _ in range(3):
        single.apply_gradients([(tf.reduce_sum(halves, 0), single_var)])
    out["single"] = single_var.numpy().tolist()
    out["single_lr"] = current_learning_rate(single)
    print("RESULT " + json.dumps(out))


def test_two_replicas_clip_and_schedule_like_one_device():
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    proc = subprocess.run(
        [sys.executable, __file__], capture_output=True, text=True, env=env, timeout=300
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, proc.stderr[-3000:]
    got = json.loads(lines[-1][len("RESULT ") :])
    assert got["mirrored_iterations"] == 3
    # Same arithmetic on the same summed gradient: equal to float32 rounding (the per-replica
    # clip this guards against is measured below, far outside that).
    np.testing.assert_allclose(got["mirrored"], got["single"], rtol=1e-6)
    keras_gap = np.max(np.abs(np.subtract(got["keras_per_replica_clip"], got["single"])))
    assert keras_gap > 1e-4  # the check above would catch a per-replica clip
    assert got["mirrored_lr"] == pytest.approx(got["single_lr"], rel=1e-7)
    assert got["single_lr"] == pytest.approx(0.1 * 4 / WARMUP)  # update n = 4 comes next


if __name__ == "__main__":
    _child()
