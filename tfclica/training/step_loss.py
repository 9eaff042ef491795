"""The maths of one training step, shared by the custom loop (:class:`~.step.TrainStep`) and
``fit`` (:class:`~.keras_model.ContrastiveModel`): TensorFlow and the replica gathers only, so
Keras's registration of the model imports nothing heavier."""

from __future__ import annotations

import tensorflow as tf

from tfclica.training.replicas import cross_replica_concat


def loss_and_grads(encoder, objective, optimizer, observe, z, global_batch, jit_parts=False):
    """One training step's loss on this replica and its gradients: the one home of the step's
    maths, for :class:`TrainStep` and for ``ContrastiveModel.train_step`` (``fit``).

    Both views pass through the encoder at once (``[x; x~]``: one large matmul per layer); the
    negatives are every replica's anchors (and positives where the loss needs them), gathered
    across replicas (:mod:`tfclica.training.replicas`). The loss is the sum of this replica's
    per-anchor losses over the global batch, so its sum over replicas (what Keras's
    cross-replica gradient sum gives) is the global mean.

    Args:
        encoder: the Keras model being trained.
        objective: what the step minimises (:class:`~tfclica.training.objectives.Objective`).
        optimizer: its optimizer (for the loss scaling of mixed_float16).
        observe: returns the encoder's input: both views stacked, or ``x`` alone where the
            objective uses no pairs.
        z: this replica's true latents (the supervised objective's target).
        global_batch: pairs per step over all replicas.
        jit_parts: compile the forward pass and the loss as separate XLA programs around the
            cross-replica gather (which XLA cannot compile on CPU).
    """
    variables = encoder.trainable_variables

    def forward():
        h = encoder(observe(), training=True)
        return tf.split(h, 2, axis=0) if objective.uses_pairs else (h, h)

    def local_loss(z, anchors, positives, all_anchors, all_positives, offset):
        per_anchor = objective.per_anchor(z, anchors, positives, all_anchors, all_positives, offset)
        return tf.reduce_sum(per_anchor) / tf.cast(global_batch, per_anchor.dtype)

    if jit_parts:
        forward = tf.function(forward, jit_compile=True)
        local_loss = tf.function(local_loss, jit_compile=True)
    with tf.GradientTape() as tape:
        anchors, positives = forward()
        all_anchors, all_positives, offset = anchors, positives, 0
        if objective.uses_negatives:
            all_anchors, offset = cross_replica_concat(anchors)
            all_positives = all_anchors
            if objective.uses_all_positives:
                all_positives, _ = cross_replica_concat(positives)
        loss = local_loss(z, anchors, positives, all_anchors, all_positives, offset)
        scaled = optimizer.scale_loss(loss)  # identity unless mixed_float16
    return loss, tape.gradient(scaled, variables)
