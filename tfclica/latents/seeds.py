"""Stateless seeds and draws that give the same numbers eagerly and under XLA.

TensorFlow's default ``alg="auto_select"`` picks a different generator inside XLA clusters, so
the same seed would give different samples with and without ``jit_compile``. Everything in the
package draws through these helpers, pinned to Philox.
"""

from __future__ import annotations

import tensorflow as tf

ALG = "philox"


def as_seed(seed) -> tf.Tensor:
    """A stateless seed: an int pair (or a Python int ``s``, read as ``(s, 0)``) as int32 [2]."""
    if isinstance(seed, int):
        seed = (seed, 0)
    return tf.cast(tf.convert_to_tensor(seed), tf.int32)


def fold(seed, value) -> tf.Tensor:
    """A new seed derived from ``seed`` and an integer (e.g. the step)."""
    return tf.random.experimental.stateless_fold_in(
        as_seed(seed), tf.cast(value, tf.int32), alg=ALG
    )


def split(seed, n: int = 2) -> list[tf.Tensor]:
    """``n`` independent seeds derived from ``seed``."""
    return [fold(seed, 1_000_003 + i) for i in range(n)]


def normal(shape, seed, dtype=tf.float32) -> tf.Tensor:
    return tf.random.stateless_normal(shape, seed=as_seed(seed), dtype=dtype, alg=ALG)


def uniform(shape, seed, dtype=tf.float32, minval=0.0, maxval=1.0) -> tf.Tensor:
    return tf.random.stateless_uniform(
        shape, seed=as_seed(seed), minval=minval, maxval=maxval, dtype=dtype, alg=ALG
    )
