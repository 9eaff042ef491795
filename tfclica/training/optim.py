"""The optimizer of a config: Adam with its learning-rate schedule and gradient clipping.

The schedule is a function of the optimizer's own iteration count (``optimizer.iterations``, the
number of updates applied), which a ``tf.train.Checkpoint`` of the optimizer saves: a restored
run resumes the schedule exactly. The defaults (``lr_schedule="constant"``, Keras' Adam
constants, ``clip_norm=0``) build the plain ``keras.optimizers.Adam(cfg.lr)`` of every result
measured before these settings existed.

Build it inside ``strategy.scope()`` and call ``optimizer.build(variables)`` there, as for any
Keras 3 optimizer under ``tf.distribute``.
"""

from __future__ import annotations

import math

import keras
import tensorflow as tf

from tfclica.config.experiment import ExperimentConfig

# lr_schedule -> the shape of the decay after the warmup ("constant" has no warmup either).
_DECAYS = {"warmup-constant": "none", "warmup-cosine": "cosine", "warmup-linear": "linear"}


@keras.saving.register_keras_serializable(package="tfclica")
class WarmupDecay(keras.optimizers.schedules.LearningRateSchedule):
    """A linear warmup to ``peak``, then held or decayed to ``peak * final_fraction``.

    Update ``n = step + 1`` (``step`` is ``optimizer.iterations``, so the first update is
    ``n = 1``; ``W = warmup_steps``, ``T = total_steps``) uses::

        n <= W:  peak * n / W
        n >  W:  final + (peak - final) * shape(t),  t = min(1, (n - W) / (T - W))

    with ``final = peak * final_fraction`` and ``shape(t)`` = ``(1 + cos(pi t)) / 2``
    (cosine), ``1 - t`` (linear) or ``1`` (none). The warmup never gives a zero first step; the
    last update (``n = T``) uses ``final``, and any later one too.

    Args:
        peak: the learning rate at the end of the warmup.
        total_steps: T, the run's training steps.
        warmup_steps: W (0: no warmup).
        decay: ``"cosine"``, ``"linear"`` or ``"none"``.
        final_fraction: the last update's learning rate over ``peak``.
    """

    def __init__(
        self,
        peak: float,
        total_steps: int,
        warmup_steps: int = 0,
        decay: str = "cosine",
        final_fraction: float = 0.0,
    ):
        if decay not in ("cosine", "linear", "none"):
            raise ValueError(f"decay={decay!r} is not one of: cosine, linear, none")
        self.peak = float(peak)
        self.total_steps = int(total_steps)
        self.warmup_steps = int(warmup_steps)
        self.decay = decay
        self.final_fraction = float(final_fraction)

    def __call__(self, step):
        n = tf.cast(step, tf.float32) + 1.0
        peak, final = self.peak, self.peak * self.final_fraction
        warmup = peak * n / max(self.warmup_steps, 1)
        span = max(self.total_steps - self.warmup_steps, 1)
        t = tf.clip_by_value((n - self.warmup_steps) / span, 0.0, 1.0)
        if self.decay == "cosine":
            shape = 0.5 * (1.0 + tf.cos(math.pi * t))
        elif self.decay == "linear":
            shape = 1.0 - t
        else:
            shape = tf.ones_like(t)
        return tf.where(n <= self.warmup_steps, warmup, final + (peak - final) * shape)

    def get_config(self) -> dict:
        return {
            "peak": self.peak,
            "total_steps": self.total_steps,
            "warmup_steps": self.warmup_steps,
            "decay": self.decay,
            "final_fraction": self.final_fraction,
        }


@keras.saving.register_keras_serializable(package="tfclica")
class GlobalClipAdam(keras.optimizers.Adam):
    """Adam that scales the summed gradient down to global norm ``clip_norm`` when above it.

    Keras' own ``global_clipnorm`` clips each replica's gradient *before* the cross-replica sum,
    so under a strategy it clips partial gradients and a two-replica run would differ from one
    device on the same global batch. This clips after the sum (on one device: the gradient).

    Args:
        clip_norm: the largest global L2 norm of an applied gradient (positive).
        **kwargs: passed to ``keras.optimizers.Adam``.
    """

    def __init__(self, clip_norm: float, **kwargs):
        if not clip_norm > 0:
            raise ValueError(f"clip_norm must be positive, got {clip_norm}")
        super().__init__(**kwargs)
        self.clip_norm = float(clip_norm)

    def _all_reduce_sum_gradients(self, grads_and_vars):
        # The one hook of Keras' TensorFlow optimizer that sees the summed gradients
        # (tests/test_optim.py checks one device against two replicas).
        pairs = list(super()._all_reduce_sum_gradients(grads_and_vars))
        index = [i for i, (g, _) in enumerate(pairs) if g is not None]
        clipped, _ = tf.clip_by_global_norm([pairs[i][0] for i in index], self.clip_norm)
        for i, g in zip(index, clipped):
            pairs[i] = (g, pairs[i][1])
        return pairs

    def get_config(self) -> dict:
        return {**super().get_config(), "clip_norm": self.clip_norm}


def learning_rate(cfg: ExperimentConfig) -> float | WarmupDecay:
    """``cfg.lr`` for the constant schedule, else the :class:`WarmupDecay` it names."""
    if cfg.lr_schedule == "constant":
        return cfg.lr
    return WarmupDecay(
        cfg.lr,
        cfg.steps,
        cfg.warmup_steps,
        decay=_DECAYS[cfg.lr_schedule],
        final_fraction=cfg.lr_final_fraction,
    )


def build_optimizer(cfg: ExperimentConfig) -> keras.optimizers.Optimizer:
    """Adam with ``cfg``'s schedule, constants and clipping, loss-scaled for mixed_float16.

    Args:
        cfg: the experiment (``lr``, ``lr_schedule``, ``warmup_steps``, ``lr_final_fraction``,
            ``steps``, ``adam_beta1``, ``adam_beta2``, ``adam_epsilon``, ``clip_norm``,
            ``precision``).

    Returns:
        ``keras.optimizers.Adam`` (or :class:`GlobalClipAdam` when ``clip_norm > 0``), wrapped in
        ``keras.optimizers.LossScaleOptimizer`` when ``cfg.precision == "mixed_float16"``
        (float16 gradients underflow without loss scaling).
    """
    kwargs = dict(
        learning_rate=learning_rate(cfg),
        beta_1=cfg.adam_beta1,
        beta_2=cfg.adam_beta2,
        epsilon=cfg.adam_epsilon,
    )
    if cfg.clip_norm > 0:
        optimizer = GlobalClipAdam(cfg.clip_norm, **kwargs)
    else:
        optimizer = keras.optimizers.Adam(**kwargs)
    if cfg.precision == "mixed_float16":
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer


def current_learning_rate(optimizer: keras.optimizers.Optimizer) -> float:
    """The learning rate the optimizer's next update uses, as a Python float.

    Works for a constant rate (a variable; a ``MirroredVariable`` under a strategy) and for a
    schedule (a tensor computed from ``optimizer.iterations``).
    """
    value = optimizer.learning_rate
    value = getattr(value, "value", value)  # a Keras variable: its backing tf.Variable
    return float(tf.convert_to_tensor(value).numpy())
