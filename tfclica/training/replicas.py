"""Gathering a batch across tf.distribute replicas, with gradients flowing back to each replica.

Contrastive losses need the negatives of the *global* batch. Inside ``strategy.run`` each replica
holds a slice; :func:`cross_replica_concat` returns the global batch and the slice's offset in it.
``ReplicaContext.all_gather`` carries a gradient (all-reduce of the cotangent, then the local
slice), so ``d loss / d local encodings`` includes the terms of every other replica's anchors.
"""

from __future__ import annotations

import tensorflow as tf


def replica_index_and_count() -> tuple[tf.Tensor, int]:
    """``(global replica id, replicas in sync)``; ``(0, 1)`` outside a distributed step."""
    ctx = tf.distribute.get_replica_context()
    if ctx is None or ctx.num_replicas_in_sync == 1:
        return tf.constant(0, tf.int32), 1
    return tf.cast(ctx.replica_id_in_sync_group, tf.int32), ctx.num_replicas_in_sync


def cross_replica_concat(values: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """The rows of ``values`` of every replica, concatenated in replica order, and this
    replica's offset (first row) in that concatenation.

    Every replica must hold the same number of rows (static per-replica batches). Outside a
    distributed step, or with one replica, it returns ``(values, 0)``.
    """
    replica, count = replica_index_and_count()
    if count == 1:
        return values, tf.constant(0, tf.int32)
    gathered = tf.distribute.get_replica_context().all_gather(values, axis=0)
    return gathered, replica * tf.shape(values)[0]
