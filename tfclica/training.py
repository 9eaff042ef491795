"""The Trainer: builds g, the sampler, the encoder and the optimizer, and runs the schedule.

Each step draws its pairs on the device from a stateless seed derived from (seed, step), so a
run is a pure function of its config, and resuming from a checkpoint replays exactly.
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
from tfclica.config import ExperimentConfig
from tfclica.encoders import build_mlp_encoder
from tfclica.evaluation import evaluate_encoder
from tfclica.latents import build_pair_sampler, seeds
from tfclica.losses import build_loss
from tfclica.metrics import linear_r2, mcc
from tfclica.mixing import build_mixing
from tfclica.strategy import resolve_strategy


class TrainingDivergedError(RuntimeError):
    """The loss became NaN or Inf; the message names the step."""


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
            holds a mixing and checkpoints, training resumes from them.
        on_progress: called with a :class:`Progress` after every step.
    """

    def __init__(
        self,
        cfg: ExperimentConfig,
        run_dir: Path,
        on_progress: Callable[[Progress], None] | None = None,
    ):
        self.cfg = cfg
        self.run_dir = Path(run_dir)
        self.on_progress = on_progress
        self.strategy = resolve_strategy(cfg.strategy)
        if (self.run_dir / rundir.MIXING_DIR).is_dir():
            self.mixing = rundir.load_mixing(self.run_dir)
        else:
            self.mixing = build_mixing(cfg.dim, cfg.mixing_layers, seed=cfg.seed)
            rundir.save_mixing(self.run_dir, self.mixing)
        rundir.save_config(self.run_dir, cfg)
        self.sampler = build_pair_sampler(cfg)
        self.loss_fn = build_loss(cfg.loss, tau=cfg.tau, p=cfg.model_p)
        with self.strategy.scope():
            self.encoder = build_mlp_encoder(
                cfg.dim, cfg.dim, cfg.hidden_widths, cfg.head, radius=cfg.radius, seed=cfg.seed
            )
            self.optimizer = keras.optimizers.Adam(cfg.lr)
            self.optimizer.build(self.encoder.trainable_variables)
            self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
            self.rng_seed = tf.Variable([cfg.seed, 0], dtype=tf.int32, trainable=False)
        self.checkpoint = tf.train.Checkpoint(
            encoder=self.encoder, optimizer=self.optimizer, step=self.step, rng_seed=self.rng_seed
        )
        self.manager = tf.train.CheckpointManager(
            self.checkpoint, str(self.run_dir / rundir.CHECKPOINT_DIR), max_to_keep=3
        )
        if self.manager.latest_checkpoint:
            self.checkpoint.restore(
                self.manager.latest_checkpoint
            ).assert_existing_objects_matched()
        self._train_step = tf.function(self._step_fn, jit_compile=True)
        self._encode = tf.function(
            lambda x: self.encoder(x, training=False),
            input_signature=[tf.TensorSpec([None, cfg.dim], tf.float32)],
            jit_compile=True,
        )

    # ------------------------------------------------------------------------ compiled parts

    def _loss(self, z, z_tilde):
        x = self.mixing(tf.concat([z, z_tilde], axis=0))
        if self.cfg.objective == "supervised":
            z_hat = self.encoder(x[: tf.shape(z)[0]], training=True)
            return tf.reduce_mean(tf.square(z_hat - z))
        # One encoder pass over both views: a single large matmul per layer.
        h = self.encoder(x, training=True)
        anchors, positives = tf.split(h, 2, axis=0)
        return tf.reduce_mean(self.loss_fn.call(anchors, positives))

    def _step_fn(self):
        seed = seeds.fold(self.rng_seed, self.step)
        z, z_tilde = self.sampler.sample_pairs(self.cfg.batch_size, seed)
        variables = self.encoder.trainable_variables
        with tf.GradientTape() as tape:
            loss = self._loss(z, z_tilde)
        grads = tape.gradient(loss, variables)
        self.optimizer.apply_gradients(zip(grads, variables))
        self.step.assign_add(1)
        return loss

    def encode(self, x: np.ndarray) -> np.ndarray:
        """The encoder on a NumPy batch, in chunks to bound memory."""
        chunks = [self._encode(x[i : i + 8192]).numpy() for i in range(0, len(x), 8192)]
        return np.concatenate(chunks) if chunks else np.zeros((0, self.cfg.dim), np.float32)

    # ------------------------------------------------------------------------------ the loop

    def _quick_eval(self, step: int) -> dict:
        seed = seeds.fold(tf.constant([self.cfg.seed, 1]), step)
        z = self.sampler.sample_marginal(self.cfg.eval_samples, seed)
        z_hat = self.encode(self.mixing(z).numpy())
        z = z.numpy()
        return {"r2_linear": linear_r2(z, z_hat), "mcc_pearson": mcc(z, z_hat)}

    def fit(self) -> dict:
        """Run the remaining steps, save the encoder, evaluate, and write metrics.json.

        Returns:
            The metrics.json content.

        Raises:
            TrainingDivergedError: the loss became non-finite (the last good checkpoint is kept).
        """
        cfg = self.cfg
        wall_start = time.perf_counter()
        writer = tf.summary.create_file_writer(str(self.run_dir / rundir.LOG_DIR))
        step = int(self.step.numpy())
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
                raise TrainingDivergedError(
                    f"loss became {loss} at step {step}; last good checkpoint kept in "
                    f"{self.run_dir / rundir.CHECKPOINT_DIR}"
                )
            if step > 1:  # the first step includes compilation
                train_seconds += elapsed
                timed_steps += 1
                pairs_per_second = timed_steps * cfg.batch_size / train_seconds
            with writer.as_default(step=step):
                _scalar("loss", loss)
            if step % cfg.eval_every == 0 or step == cfg.steps:
                scores = self._quick_eval(step)
                last_r2 = scores["r2_linear"]
                with writer.as_default(step=step):
                    _scalar("r2_linear", scores["r2_linear"])
                    _scalar("mcc_pearson", scores["mcc_pearson"])
                    _scalar("learning_rate", float(self.optimizer.learning_rate))
                    if pairs_per_second:
                        _scalar("pairs_per_second", pairs_per_second)
            if step % cfg.checkpoint_every == 0 or step == cfg.steps:
                self.manager.save(checkpoint_number=step)
            if self.on_progress:
                self.on_progress(Progress(step, cfg.steps, loss, last_r2, pairs_per_second))
        writer.flush()
        self.save_encoder()
        metrics = {
            "preset": cfg.preset,
            "seed": cfg.seed,
            "steps": cfg.steps,
            "batch_size": cfg.batch_size,
            "wall_seconds": 0.0,
            "samples_per_second": pairs_per_second,
            **evaluate_encoder(
                self.encode, self.sampler, self.mixing, cfg.eval_samples, seed=(cfg.seed, 2)
            ),
        }
        metrics["wall_seconds"] = time.perf_counter() - wall_start
        rundir.write_metrics(self.run_dir, metrics)
        return metrics

    def save_encoder(self) -> Path:
        """Write ``encoder.keras`` atomically (temporary file, then rename)."""
        final = self.run_dir / rundir.ENCODER_FILE
        fd, tmp = tempfile.mkstemp(dir=self.run_dir, prefix=".encoder.", suffix=".keras")
        os.close(fd)
        try:
            self.encoder.save(tmp)
            os.replace(tmp, final)
        finally:
            Path(tmp).unlink(missing_ok=True)
        return final
