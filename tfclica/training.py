"""The Trainer: builds g, the sampler, the encoder and the optimizer, and runs the schedule.

Sampling. Step ``s`` draws its global batch on the device as ``data_shards`` equal shards,
shard ``k`` from the stateless seed ``fold(fold((seed, 0), s), k)``; replica ``r`` of ``R`` draws
shards ``r*S/R ... (r+1)*S/R - 1`` (``S = data_shards``, by default ``R``). A run is therefore a
pure function of its config and ``S``: a one-device run with ``data_shards=2`` trains on exactly
the batches of a two-replica run, and resuming from a checkpoint replays exactly.

Step functions. With one replica the whole step (sampling, forward, backward, Adam) is one XLA
program. Under a distribution strategy full-step XLA fails on CPU, so the replica step compiles
the forward pass and the loss with XLA (their gradients are compiled too), gathers the encodings
across replicas between the two (:mod:`tfclica.replicas`), and applies gradients outside XLA.
On TPU every shape is static: ``batch_size`` must split evenly over the shards and replicas
(there is no remainder batch to drop), and evaluation pads its chunks to one fixed size.
"""

from __future__ import annotations

import math
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from tensorflow.core.framework import summary_pb2

from tfclica import rundir
from tfclica.checkpoints import restore_newest_readable
from tfclica.config import ExperimentConfig
from tfclica.encoders import build_mlp_encoder
from tfclica.errors import ConfigError, TrainingDivergedError
from tfclica.evaluation import evaluate_encoder
from tfclica.latents import build_pair_sampler, seeds
from tfclica.losses import build_loss
from tfclica.metrics import linear_r2, mcc
from tfclica.mixing import build_mixing
from tfclica.replicas import cross_replica_concat, replica_index_and_count
from tfclica.strategy import is_tpu, resolve_strategy
from tfclica.streams import Stream, seed_of

SUPERVISED_ENCODER_FILE = "encoder_supervised.keras"


# On a CPU, below this batch XLA's whole-step fusion wins over oneDNN's faster kernels (measured
# at the paper setting: batch 512 step 14.7k vs sampling 12.9k pairs/s; 2048: 15.2k vs 16.5k).
CPU_WHOLE_STEP_BELOW = 1024


def resolve_xla_mode(mode: str, batch_size: int) -> str:
    """``step`` or ``sampling`` for a config's ``xla`` value (see ``config.XLA_MODES``)."""
    if mode != "auto":
        return mode
    accelerators = tf.config.list_logical_devices("GPU") + tf.config.list_logical_devices("TPU")
    return "step" if accelerators or batch_size < CPU_WHOLE_STEP_BELOW else "sampling"


@dataclass(frozen=True)
class Progress:
    """What the trainer reports after each step (for progress bars and logs)."""

    step: int
    total_steps: int
    loss: float
    r2: float | None
    pairs_per_second: float | None


def _scalar(name: str, value: float) -> None:
    """A TensorBoard scalar without the tensorboard package (TF 2.21 no longer ships it)."""
    metadata = summary_pb2.SummaryMetadata(
        plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="scalars")
    )
    tf.summary.write(name, tf.constant(value, tf.float32), metadata=metadata)


class Trainer:
    """Trains one experiment into a run directory.

    Args:
        cfg: the experiment.
        run_dir: an existing run directory (see :func:`tfclica.rundir.prepare_run_dir`). If it
            holds a mixing and checkpoints, training resumes from the newest readable one.
        on_progress: called with a :class:`Progress` after every step.
        data_shards: shards of the global batch (default: one per replica; see the module
            docstring). A resumed run keeps the value stored in its checkpoint.
        objective: ``unsupervised`` (the config's loss) or ``supervised`` (MSE regression of z);
            default ``cfg.objective``.
        checkpoint_subdir: checkpoints go to ``run_dir/checkpoints/<this>`` (for a second
            objective trained in the same run directory).
    """

    def __init__(
        self,
        cfg: ExperimentConfig,
        run_dir: Path,
        on_progress: Callable[[Progress], None] | None = None,
        data_shards: int | None = None,
        objective: str | None = None,
        checkpoint_subdir: str = "",
    ):
        self.cfg = cfg
        self.run_dir = Path(run_dir)
        self.on_progress = on_progress
        # "both": this trainer is the contrastive one; fit() then trains the baseline.
        self.objective = objective or ("unsupervised" if cfg.objective == "both" else cfg.objective)
        # First: MultiWorkerMirroredStrategy must exist before any other TF op runs.
        self.strategy = resolve_strategy(cfg.strategy)
        self.replicas = self.strategy.num_replicas_in_sync
        shards = data_shards or self.replicas
        if shards % self.replicas or cfg.batch_size % shards:
            raise ConfigError(
                f"batch_size={cfg.batch_size} must split into data_shards={shards}, and the "
                f"shards over {self.replicas} replicas"
            )
        if (self.run_dir / rundir.MIXING_DIR).is_dir():
            self.mixing = rundir.load_mixing(self.run_dir)
            if self.mixing.dim != cfg.dim or len(self.mixing.weights) != cfg.mixing_layers:
                raise ConfigError(
                    f"{self.run_dir}: its mixing g has dim={self.mixing.dim} and "
                    f"{len(self.mixing.weights)} layers, the config says dim={cfg.dim} and "
                    f"mixing_layers={cfg.mixing_layers}"
                )
        else:  # config first: a directory with a config is never mistaken for an empty one
            rundir.save_config(self.run_dir, cfg)
            self.mixing = build_mixing(cfg.dim, cfg.mixing_layers, seed=cfg.seed)
            rundir.save_mixing(self.run_dir, self.mixing)
        self.sampler = build_pair_sampler(cfg)
        self.loss_fn = build_loss(cfg.loss, tau=cfg.tau, p=cfg.model_p)
        with self.strategy.scope():
            self.encoder = build_mlp_encoder(
                cfg.dim,
                cfg.dim,
                cfg.hidden_widths,
                cfg.head,
                radius=cfg.radius,
                seed=cfg.seed,
                dtype=None if cfg.precision == "float32" else cfg.precision,
            )
            self.optimizer = keras.optimizers.Adam(cfg.lr)
            if cfg.precision == "mixed_float16":  # float16 gradients underflow without scaling
                self.optimizer = keras.optimizers.LossScaleOptimizer(self.optimizer)
            self.optimizer.build(self.encoder.trainable_variables)
            self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
            self.rng_seed = tf.Variable([cfg.seed, Stream.TRAIN], dtype=tf.int32, trainable=False)
            self.data_shards = tf.Variable(shards, dtype=tf.int64, trainable=False)
        self.checkpoint = tf.train.Checkpoint(
            encoder=self.encoder,
            optimizer=self.optimizer,
            step=self.step,
            rng_seed=self.rng_seed,
            data_shards=self.data_shards,
        )
        ckpt_dir = self.run_dir / rundir.CHECKPOINT_DIR / checkpoint_subdir
        self.manager = tf.train.CheckpointManager(self.checkpoint, str(ckpt_dir), max_to_keep=3)
        self.restored_from = restore_newest_readable(self.checkpoint, self.manager)
        rundir.save_config(self.run_dir, cfg)  # only once the checkpoints are known to match
        self.shards = int(self.data_shards.numpy())
        if self.shards % self.replicas or cfg.batch_size % self.shards:
            raise ConfigError(
                f"{run_dir} was trained with data_shards={self.shards}, which does not split "
                f"batch_size={cfg.batch_size} over {self.replicas} replicas"
            )
        self._train_step = self._build_train_step()
        self._encode = tf.function(
            lambda x: self.encoder(x, training=False),
            input_signature=[tf.TensorSpec([None, cfg.dim], tf.float32)],
            jit_compile=True,
        )

    # ------------------------------------------------------------------------ compiled parts

    def _draw(self):
        """This replica's shards of the global batch of the current step: ``(z, z_tilde)``."""
        replica, _ = replica_index_and_count()
        per_replica = self.shards // self.replicas
        shard_size = self.cfg.batch_size // self.shards
        step_seed = seeds.fold(self.rng_seed, self.step)
        draws = [
            self.sampler.sample_pairs(shard_size, seeds.fold(step_seed, replica * per_replica + j))
            for j in range(per_replica)
        ]
        return tf.concat([d[0] for d in draws], 0), tf.concat([d[1] for d in draws], 0)

    def _forward(self, z, z_tilde):
        """Encodings of both views (one encoder pass: a single large matmul per layer)."""
        if self.objective == "supervised":  # regresses z only: z~ is not needed
            h = self.encoder(self.mixing(z), training=True)
            return h, h
        h = self.encoder(self.mixing(tf.concat([z, z_tilde], axis=0)), training=True)
        return tf.split(h, 2, axis=0)

    def _local_loss(self, z, anchors, positives, all_anchors, all_positives, offset):
        """Sum of this replica's per-anchor losses over the global batch size: summing it over
        replicas gives the mean over the global batch (and its gradient)."""
        if self.objective == "supervised":
            per_anchor = tf.reduce_mean(tf.square(anchors - z), axis=-1)
        else:
            per_anchor = self.loss_fn.per_anchor(
                anchors, positives, all_anchors, all_positives, offset
            )
        return tf.reduce_sum(per_anchor) / self.cfg.batch_size

    def _compute_loss_and_grads(self, jit_parts: bool, jit_draw: bool = False):
        """``(loss of this replica, its gradients)``; negatives come from the global batch.

        With ``jit_parts`` the forward pass and the loss are separate XLA programs around the
        cross-replica gather (which XLA cannot compile on CPU).
        """
        z, z_tilde = tf.function(self._draw, jit_compile=True)() if jit_draw else self._draw()
        variables = self.encoder.trainable_variables
        forward, local_loss = self._forward, self._local_loss
        if jit_parts:
            forward = tf.function(forward, jit_compile=True)
            local_loss = tf.function(local_loss, jit_compile=True)
        with tf.GradientTape() as tape:
            anchors, positives = forward(z, z_tilde)
            all_anchors, all_positives, offset = anchors, positives, 0
            if self.objective != "supervised":  # only contrastive losses need negatives
                all_anchors, offset = cross_replica_concat(anchors)
                all_positives = all_anchors
                if self.loss_fn.needs_all_positives:
                    all_positives, _ = cross_replica_concat(positives)
            loss = local_loss(z, anchors, positives, all_anchors, all_positives, offset)
            scaled = self.optimizer.scale_loss(loss)  # identity unless mixed_float16
        return loss, tape.gradient(scaled, variables)

    def _apply(self, grads):
        """Adam update (under a strategy Keras all-reduces the gradients, summing them)."""
        self.optimizer.apply_gradients(zip(grads, self.encoder.trainable_variables))
        self.step.assign_add(1)

    def _build_train_step(self):
        multi_worker = isinstance(self.strategy, tf.distribute.MultiWorkerMirroredStrategy)
        if self.replicas == 1 and not (is_tpu(self.strategy) or multi_worker):
            whole_step = resolve_xla_mode(self.cfg.xla, self.cfg.batch_size) == "step"

            def fused_step():
                loss, grads = self._compute_loss_and_grads(jit_parts=False, jit_draw=not whole_step)
                self._apply(grads)
                return loss

            return tf.function(fused_step, jit_compile=whole_step)

        jit_parts = not is_tpu(self.strategy)  # on TPU everything is compiled anyway

        def replica_step():
            loss, grads = self._compute_loss_and_grads(jit_parts)
            self._apply(grads)
            return loss

        @tf.function
        def distributed_step():
            losses = self.strategy.run(replica_step)
            return self.strategy.reduce(tf.distribute.ReduceOp.SUM, losses, axis=None)

        return distributed_step

    def encode(self, x: np.ndarray) -> np.ndarray:
        """The encoder on a NumPy batch, in chunks to bound memory (padded on TPU hosts)."""
        size = 8192
        chunks = []
        for i in range(0, len(x), size):
            chunk = x[i : i + size]
            if is_tpu(self.strategy) and len(chunk) < size:  # static shapes: one compilation
                pad = np.zeros((size - len(chunk), x.shape[1]), x.dtype)
                chunks.append(self._encode(np.concatenate([chunk, pad])).numpy()[: len(chunk)])
            else:
                chunks.append(self._encode(chunk).numpy())
        return np.concatenate(chunks) if chunks else np.zeros((0, self.cfg.dim), np.float32)

    # ------------------------------------------------------------------------------ the loop

    def _quick_eval(self, step: int) -> dict:
        seed = seeds.fold(tf.constant([self.cfg.seed, Stream.TRAIN_EVAL]), step)
        z = self.sampler.sample_marginal(self.cfg.eval_samples, seed)
        z_hat = self.encode(self.mixing(z).numpy())
        z = z.numpy()
        return {"r2_linear": linear_r2(z, z_hat), "mcc_pearson": mcc(z, z_hat)}

    def _learning_rate(self) -> float:
        # .value: under a strategy it is a MirroredVariable, which float() rejects.
        return float(tf.convert_to_tensor(self.optimizer.learning_rate.value).numpy())

    def _log_dir(self) -> str:
        logs = self.run_dir / rundir.LOG_DIR
        if self.cfg.objective == "both" and self.objective == "supervised":
            logs = logs / "supervised"
        return str(logs)

    def run_steps(self) -> float | None:
        """Train until ``cfg.steps``, checkpointing and logging; returns pairs/s (or None).

        Raises:
            TrainingDivergedError: the loss became non-finite (the last good checkpoint is kept).
        """
        cfg = self.cfg
        writer = tf.summary.create_file_writer(self._log_dir())
        step = start_step = int(self.step.numpy())
        last_r2, pairs_per_second = None, None
        train_seconds, timed_steps = 0.0, 0
        while step < cfg.steps:
            t0 = time.perf_counter()
            try:
                loss = float(self._train_step())
            except KeyboardInterrupt:  # keep every finished step
                self.manager.save(checkpoint_number=int(self.step.numpy()))
                raise
            elapsed = time.perf_counter() - t0
            step += 1
            if not math.isfinite(loss):
                # No save from here on: the weights already hold the bad update.
                last = self.manager.latest_checkpoint or "none (diverged before the first)"
                raise TrainingDivergedError(
                    f"loss became {loss} at step {step}; last good checkpoint: {last}"
                )
            if timed_steps or step > start_step + 1:  # the first step includes compilation
                train_seconds += elapsed
                timed_steps += 1
                pairs_per_second = timed_steps * cfg.batch_size / train_seconds
            elif pairs_per_second is None:  # a one-step run: its only (compiling) step
                pairs_per_second = cfg.batch_size / elapsed
            with writer.as_default(step=step):
                _scalar("loss", loss)
            if step % cfg.eval_every == 0 or step == cfg.steps:
                scores = self._quick_eval(step)
                last_r2 = scores["r2_linear"]
                with writer.as_default(step=step):
                    _scalar("r2_linear", scores["r2_linear"])
                    _scalar("mcc_pearson", scores["mcc_pearson"])
                    _scalar("learning_rate", self._learning_rate())
                    if pairs_per_second:
                        _scalar("pairs_per_second", pairs_per_second)
            if step % cfg.checkpoint_every == 0 or step == cfg.steps:
                self.manager.save(checkpoint_number=step)
            if self.on_progress:
                self.on_progress(Progress(step, cfg.steps, loss, last_r2, pairs_per_second))
        writer.flush()
        return pairs_per_second

    def scores(self) -> dict:
        """Final identifiability scores on fresh samples (the metrics.json score fields)."""
        return evaluate_encoder(
            self.encode,
            self.sampler,
            self.mixing,
            self.cfg.eval_samples,
            seed=seed_of(self.cfg.seed, Stream.FINAL_EVAL),
        )

    def fit(self) -> dict:
        """Run the remaining steps, save the encoder, evaluate, and write metrics.json.

        Returns:
            The metrics.json content (``objective`` says what the top-level scores measure).

        Raises:
            TrainingDivergedError: the loss became non-finite (the last good checkpoint is kept).
        """
        cfg = self.cfg
        wall_start = time.perf_counter()
        start_step = int(self.step.numpy())
        pairs_per_second = self.run_steps()
        if pairs_per_second is None and (self.run_dir / rundir.METRICS_FILE).is_file():
            # Nothing left to train (a resume of a finished run): keep the measured rate.
            pairs_per_second = rundir.read_metrics(self.run_dir).get("samples_per_second")
        self.save_encoder()  # every worker into its own run directory
        metrics = {
            "preset": cfg.preset,
            "seed": cfg.seed,
            "steps": cfg.steps,
            "batch_size": cfg.batch_size,
            "wall_seconds": 0.0,
            "samples_per_second": pairs_per_second,
            "objective": self.objective,
            "replicas": self.replicas,
            "data_shards": self.shards,
            # wall_seconds and samples_per_second cover the steps from here (0: a fresh run).
            "resumed_from_step": start_step,
            **self.scores(),
        }
        if cfg.objective == "both" and self.objective == "unsupervised":
            metrics["supervised"] = self._fit_supervised_baseline()
        metrics["wall_seconds"] = time.perf_counter() - wall_start
        rundir.write_metrics(self.run_dir, metrics)
        return metrics

    def _fit_supervised_baseline(self) -> dict:
        """The paper's baseline in the same run directory: the same encoder (same initial
        weights, same batches) regressed on z with MSE. Checkpoints in ``checkpoints/supervised``,
        logs in ``logs/supervised``, encoder in ``encoder_supervised.keras``."""
        baseline = Trainer(
            self.cfg,
            self.run_dir,
            self.on_progress,
            data_shards=self.shards,
            objective="supervised",
            checkpoint_subdir="supervised",
        )
        pairs_per_second = baseline.run_steps()
        baseline.save_encoder(SUPERVISED_ENCODER_FILE)
        return {"samples_per_second": pairs_per_second, **baseline.scores()}

    def save_encoder(self, name: str = rundir.ENCODER_FILE) -> Path:
        """Write the encoder to ``run_dir/name`` atomically (temporary file, then rename)."""
        final = self.run_dir / name
        fd, tmp = tempfile.mkstemp(dir=self.run_dir, prefix=".encoder.", suffix=".keras")
        os.close(fd)
        rundir.publish_mode(Path(tmp))
        try:
            self.encoder.save(tmp)
            os.replace(tmp, final)
        finally:
            Path(tmp).unlink(missing_ok=True)
        return final
