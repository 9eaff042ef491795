"""The compiled train step: ``steps_per_call`` optimisation steps per Python call, on the device.

Sampling. Step ``s`` draws its global batch on the device as ``data_shards`` equal shards,
shard ``k`` from the stateless seed ``fold(fold((seed, Stream.TRAIN), s), k)``; replica ``r`` of
``R`` draws shards ``r*S/R ... (r+1)*S/R - 1`` (``S = data_shards``, by default ``R``). A run is
therefore a pure function of its config and ``S``: a one-device run with ``data_shards=2`` trains
on exactly the batches of a two-replica run, and resuming from a checkpoint replays exactly.

Compilation. With one replica the whole step (sampling, observations, forward, backward, Adam)
is one program, with XLA (``xla="step"``) or as a TF graph with only the sampling compiled
(``"sampling"``). Under a distribution strategy full-step XLA fails on CPU, so the replica step
compiles the forward pass and the loss with XLA (their gradients are compiled too), gathers the
encodings across replicas between the two (:mod:`tfclica.training.replicas`), and applies gradients
outside XLA. On TPU every shape is static: ``batch_size`` must split evenly over the shards.

Steps per call. One call runs up to ``steps_per_call`` steps in a device-side loop, which stops
early after a non-finite loss; the per-step losses come back once per call. Each step is the
same computation whatever the call's length, so how steps are grouped into calls never changes
the weights.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from tfclica.data.training_data import TrainingData
from tfclica.errors import ConfigError
from tfclica.latents import seeds
from tfclica.streams import Stream
from tfclica.training.objectives import Objective
from tfclica.training.replicas import replica_index_and_count
from tfclica.training.step_loss import loss_and_grads
from tfclica.training.strategy import is_tpu

# On a CPU, below this batch XLA's whole-step fusion wins over oneDNN's faster kernels (measured
# at the paper setting: batch 512 step 14.7k vs sampling 12.9k pairs/s; 2048: 15.2k vs 16.5k).
CPU_WHOLE_STEP_BELOW = 1024


def resolve_xla_mode(mode: str, batch_size: int, encoder: str = "mlp") -> str:
    """``step`` or ``sampling`` for a config's ``xla`` value (see ``config.XLA_MODES``): the one
    home of the ``auto`` policy. On a GPU/TPU ``auto`` compiles the whole step. On a CPU it
    compiles only the sampling (and the renderer, always one XLA program) for a convolutional
    encoder, whose gradients XLA:CPU makes slow (measured: the CNN's whole step at batch 256,
    32x32, about 30x slower than with oneDNN's kernels), and for an MLP from
    :data:`CPU_WHOLE_STEP_BELOW` pairs a batch on."""
    if mode != "auto":
        return mode
    accelerators = tf.config.list_logical_devices("GPU") + tf.config.list_logical_devices("TPU")
    if accelerators:
        return "step"
    return "step" if encoder == "mlp" and batch_size < CPU_WHOLE_STEP_BELOW else "sampling"


def check_shards(batch_size: int, shards: int, replicas: int, where: str = "") -> None:
    """:class:`ConfigError` unless ``batch_size`` splits into ``shards`` equal shards and the
    shards split evenly over ``replicas`` (``where``: a prefix saying whose shards they are)."""
    if shards % replicas or batch_size % shards:
        raise ConfigError(
            f"{where}batch_size={batch_size} must split into data_shards={shards}, and the "
            f"shards over {replicas} replicas"
        )


class TrainState:
    """The training variables a checkpoint holds besides the encoder and the optimizer.

    Create it inside the strategy's scope.

    Attributes:
        step: optimisation steps done.
        rng_seed: the base seed of the training batches, ``(seed, Stream.TRAIN)``.
        data_shards: shards each global batch is drawn as (fixed for the life of a run).
    """

    def __init__(self, seed: int, data_shards: int):
        self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
        self.rng_seed = tf.Variable([seed, int(Stream.TRAIN)], dtype=tf.int32, trainable=False)
        self.data_shards = tf.Variable(data_shards, dtype=tf.int64, trainable=False)

    def checkpointables(self) -> dict:
        """The ``tf.train.Checkpoint`` entries (names are part of the checkpoint format)."""
        return {"step": self.step, "rng_seed": self.rng_seed, "data_shards": self.data_shards}


class TrainStep:
    """Compiled training steps of one objective.

    Args:
        data: the run's data (:class:`~tfclica.data.training_data.TrainingData`): draws each
            step's pairs and observes them on the device.
        encoder: the Keras model being trained (built in ``strategy``'s scope).
        optimizer: its optimizer, built on the encoder's variables in the same scope.
        objective: what the step minimises.
        strategy: the ``tf.distribute`` strategy.
        state: the step counter, seed and shard count (:class:`TrainState`).
        batch_size: the global batch (pairs per step over all replicas).
        xla: ``auto``, ``step`` or ``sampling`` (single device; see :func:`resolve_xla_mode`).
        steps_per_call: most steps one call runs on the device.

    Raises:
        ConfigError: the batch does not split into the shards, or the shards over the replicas.
    """

    def __init__(
        self,
        data: TrainingData,
        encoder,
        optimizer,
        objective: Objective,
        strategy: tf.distribute.Strategy,
        state: TrainState,
        batch_size: int,
        xla: str = "auto",
        steps_per_call: int = 1,
    ):
        self.data, self.encoder = data, encoder
        self.optimizer, self.objective, self.strategy = optimizer, objective, strategy
        self.state, self.batch_size = state, batch_size
        self.replicas = strategy.num_replicas_in_sync
        self.shards = int(state.data_shards.numpy())
        check_shards(batch_size, self.shards, self.replicas)
        self.steps_per_call = int(steps_per_call)
        multi_worker = isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)
        self.single_device = self.replicas == 1 and not (is_tpu(strategy) or multi_worker)
        if not data.compilable:  # a tf.data pipeline: one device, nothing compiled around it
            if not self.single_device:
                raise ConfigError(
                    f"this data trains on one device, the strategy has {self.replicas} replicas"
                )
            xla = "sampling"
        self.xla_mode = resolve_xla_mode(xla, batch_size) if self.single_device else "parts"
        data.start(int(state.step.numpy()))
        self._compiled = self._build()

    def __call__(self, num_steps: int) -> np.ndarray:
        """Run ``num_steps <= steps_per_call`` steps; returns their losses (float64 NumPy).

        Fewer come back when a loss is not finite: the last one returned is that loss (its
        update was applied), and no step ran after it.
        """
        if not 0 < num_steps <= self.steps_per_call:
            raise ValueError(f"num_steps={num_steps} must be in 1..{self.steps_per_call}")
        losses, done = self._compiled(tf.constant(num_steps, tf.int32))
        return losses.numpy()[: int(done)].astype(np.float64)

    # ------------------------------------------------------------------ one step, per replica

    def draw(self):
        """This replica's shards of the global batch of the current step (a tuple starting
        ``(z, z_tilde)``; see :meth:`TrainingData.draw`)."""
        replica, _ = replica_index_and_count()
        per_replica = self.shards // self.replicas
        shard_size = self.batch_size // self.shards
        step_seed = seeds.fold(self.state.rng_seed, self.state.step)
        indices = [replica * per_replica + j for j in range(per_replica)]
        return self.data.draw(step_seed, shard_size, indices)

    def _loss_and_grads(self, jit_parts: bool, jit_draw: bool = False):
        """``(loss of this replica, its gradients)`` of the current step's batch
        (:func:`loss_and_grads`); with ``jit_draw`` the draw is its own XLA program."""
        jit_draw = jit_draw and self.data.compilable
        batch = tf.function(self.draw, jit_compile=True)() if jit_draw else self.draw()

        def observe():
            return self.data.observe(batch, pairs=self.objective.uses_pairs)

        return loss_and_grads(
            self.encoder, self.objective, self.optimizer, observe, batch[0], self.batch_size,
            jit_parts,
        )  # fmt: skip

    def _apply(self, grads):
        """Adam update (under a strategy Keras all-reduces the gradients, summing them)."""
        self.optimizer.apply_gradients(zip(grads, self.encoder.trainable_variables))
        self.state.step.assign_add(1)

    # ---------------------------------------------------------------------- the compiled loop

    def _one_step_fn(self):
        """A function running one global step and returning its loss."""
        if self.single_device:
            whole_step = self.xla_mode == "step"

            def fused_step():
                loss, grads = self._loss_and_grads(jit_parts=False, jit_draw=not whole_step)
                self._apply(grads)
                return loss

            return fused_step

        jit_parts = not is_tpu(self.strategy)  # on TPU everything is compiled anyway

        def replica_step():
            loss, grads = self._loss_and_grads(jit_parts)
            self._apply(grads)
            return loss

        def distributed_step():
            losses = self.strategy.run(replica_step)
            return self.strategy.reduce(tf.distribute.ReduceOp.SUM, losses, axis=None)

        return distributed_step

    def _build(self):
        one_step = self._one_step_fn()
        capacity = self.steps_per_call

        def run_steps(num_steps):
            def keep_going(i, finite, losses):
                return tf.logical_and(i < num_steps, finite)

            def body(i, finite, losses):
                loss = tf.cast(one_step(), tf.float32)
                losses = tf.tensor_scatter_nd_update(losses, [[i]], [loss])
                return i + 1, tf.math.is_finite(loss), losses

            start = (tf.constant(0), tf.constant(True), tf.zeros([capacity], tf.float32))
            done, _, losses = tf.while_loop(keep_going, body, start, maximum_iterations=capacity)
            return losses, done

        jit = self.single_device and self.xla_mode == "step"
        return tf.function(run_steps, jit_compile=jit)
