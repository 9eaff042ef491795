"""A train step whose pairs come from an image folder (:class:`~tfclica.data.loader.FolderPairs`)
instead of being drawn and observed on the device.

It is :class:`~tfclica.training.step.TrainStep` with the batch source swapped: each step takes
the next ``(z, z~, x, x~)`` batch of the folder's ``tf.data`` pipeline inside the compiled loop.
The pipeline is keyed by the step (it starts at ``state.step``), so a resumed run trains on the
same batches. A ``tf.data`` iterator cannot be compiled by XLA, so the step runs as a TF graph
(``xla="sampling"``: on a CPU the faster choice for convolutional encoders anyway), and only on
one device (a distributed version would distribute the dataset with the strategy).
"""

from __future__ import annotations

import tensorflow as tf

from tfclica.data.loader import FolderPairs
from tfclica.errors import ConfigError
from tfclica.training.objectives import Objective
from tfclica.training.step import TrainState, TrainStep


class FolderTrainStep(TrainStep):
    """Compiled training steps on the pairs of an image folder.

    Args:
        pairs: the folder's pair pipeline; its batch size is the step's.
        encoder, optimizer, objective, strategy, state, steps_per_call: as
            :class:`~tfclica.training.step.TrainStep`.

    Raises:
        ConfigError: a strategy with more than one replica.
    """

    def __init__(
        self,
        pairs: FolderPairs,
        encoder,
        optimizer,
        objective: Objective,
        strategy: tf.distribute.Strategy,
        state: TrainState,
        steps_per_call: int = 1,
    ):
        if strategy.num_replicas_in_sync != 1:
            raise ConfigError(
                f"training from an image folder runs on one device, the strategy has "
                f"{strategy.num_replicas_in_sync} replicas"
            )
        self.pairs = pairs
        self._batches = iter(pairs.dataset(int(state.step.numpy())))
        super().__init__(
            pairs.sampler,
            None,
            encoder,
            optimizer,
            objective,
            strategy,
            state,
            pairs.batch_size,
            xla="sampling",
            steps_per_call=steps_per_call,
        )

    def _loss_and_grads(self, jit_parts: bool, jit_draw: bool = False):
        """``(loss, gradients)`` on the folder's next batch (see ``TrainStep._loss_and_grads``)."""
        z, _, x, x_tilde = next(self._batches)
        variables = self.encoder.trainable_variables
        with tf.GradientTape() as tape:
            if self.objective.uses_pairs:
                h = self.encoder(tf.concat([x, x_tilde], axis=0), training=True)
                anchors, positives = tf.split(h, 2, axis=0)
            else:
                anchors = positives = self.encoder(x, training=True)
            loss = self._local_loss(z, anchors, positives, anchors, positives, 0)
            scaled = self.optimizer.scale_loss(loss)
        return loss, tape.gradient(scaled, variables)
