"""One experiment into a run directory: build the parts from the config, train, score, record.

:class:`TrainingRun` assembles what the config describes (the strategy, the pair sampler, the
observation source, the encoder, the optimizer, the objective) around a run directory, hands
them to the :class:`~tfclica.training.step.TrainStep` and the
:class:`~tfclica.training.loop.Trainer`, and writes the results. With ``objective="both"`` it
trains the supervised baseline next, in the same run directory, as a second ``TrainingRun``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import tensorflow as tf

from tfclica.config.experiment import STOP_AT_METRICS, ExperimentConfig
from tfclica.data.training_data import open_training_data
from tfclica.evaluation.scoring import (
    check_evaluable,
    chunked_encoder,
    evaluate_on_data,
    training_scores,
)
from tfclica.latents import seeds
from tfclica.models.build import build_encoder
from tfclica.rundir import RunDirectory
from tfclica.streams import Stream, seed_of
from tfclica.training.checkpoints import restore_newest_readable
from tfclica.training.loop import Progress, Trainer, time_to_score
from tfclica.training.objectives import build_objective
from tfclica.training.optim import build_optimizer
from tfclica.training.step import TrainState, TrainStep, check_shards, resolve_xla_mode
from tfclica.training.strategy import is_tpu, resolve_strategy

SUPERVISED_ENCODER_FILE = "encoder_supervised.keras"
SUPERVISED_SUBDIR = "supervised"  # checkpoints/ and logs/ of the baseline
LATENTS_PICTURE = "latents.png"
TRAINING_PICTURE = "training.png"


def picture_alignment(cfg: ExperimentConfig) -> str:
    """How ``latents.png`` aligns the encodings with the latents: ``"linear"`` (the affine map
    behind the linear R^2) where the setting identifies z only up to an orthogonal map (the
    sphere, and any L2 model, whose similarity is rotation-invariant: the 3dident preset's),
    ``"permutation"`` (permutation, sign and scale, as MCC) otherwise."""
    l2_model = cfg.loss in ("lp", "align-uniform") and cfg.model_p == 2
    return "linear" if cfg.space == "sphere" or l2_model else "permutation"


class TrainingRun:
    """Trains one experiment into a run directory.

    Args:
        cfg: the experiment.
        run_dir: an existing run directory (see :func:`tfclica.rundir.prepare_run_dir`). If it
            holds an observation source and checkpoints, training resumes from the newest
            readable checkpoint.
        on_progress: called with a :class:`~tfclica.training.loop.Progress` after every call of
            the compiled step.
        data_shards: shards of the global batch (default: one per replica; see
            :mod:`tfclica.training.step`). A resumed run keeps the value in its checkpoint.
        objective: ``unsupervised`` (the config's loss) or ``supervised`` (MSE regression of z);
            default ``cfg.objective`` (``both``: this run is the contrastive one, and
            :meth:`fit` then trains the baseline).
        checkpoint_subdir: checkpoints go to ``checkpoints/<this>`` and logs to
            ``logs/<this>`` (for a second objective trained in the same run directory).
        total_steps: where training ends (default ``cfg.steps``; the baseline's
            ``cfg.baseline_steps``).
    """

    def __init__(
        self,
        cfg: ExperimentConfig,
        run_dir: Path,
        on_progress: Callable[[Progress], None] | None = None,
        data_shards: int | None = None,
        objective: str | None = None,
        checkpoint_subdir: str = "",
        total_steps: int | None = None,
    ):
        check_evaluable(cfg)  # before anything is written
        self.cfg = cfg
        self.run_dir = RunDirectory(run_dir)
        self.on_progress = on_progress
        self.objective_name = objective or (
            "unsupervised" if cfg.objective == "both" else cfg.objective
        )
        self.subdir = checkpoint_subdir
        self.total_steps = total_steps or cfg.steps
        # First: MultiWorkerMirroredStrategy must exist before any other TF op runs.
        self.strategy = resolve_strategy(cfg.strategy)
        self.replicas = self.strategy.num_replicas_in_sync
        shards = data_shards or self.replicas
        check_shards(cfg.batch_size, shards, self.replicas)
        self.data = open_training_data(cfg, self.run_dir)
        self.data.check_shards(self.replicas, shards)
        self.sampler = self.data.sampler
        shape = self.data.observation_shape
        with self.strategy.scope():
            self.encoder = build_encoder(cfg, shape)
            self.optimizer = build_optimizer(cfg)
            self.optimizer.build(self.encoder.trainable_variables)
            self.state = TrainState(cfg.seed, shards)
        self.checkpoint = tf.train.Checkpoint(
            encoder=self.encoder, optimizer=self.optimizer, **self.state.checkpointables()
        )
        self.manager = tf.train.CheckpointManager(
            self.checkpoint, str(self.run_dir.checkpoint_dir(self.subdir)), max_to_keep=3
        )
        self.restored_from = restore_newest_readable(self.checkpoint, self.manager)
        if self.restored_from is None and cfg.output_init == "standardized":
            self._standardize_output_layer()
        self.run_dir.save_config(cfg)  # only once the checkpoints are known to match
        self.shards = int(self.state.data_shards.numpy())
        check_shards(cfg.batch_size, self.shards, self.replicas, f"{run_dir} was trained: ")
        objective = build_objective(cfg, self.objective_name)
        # The data's batches start at the restored step (a resume trains on the same batches).
        self.train_step = TrainStep(
            self.data,
            self.encoder,
            self.optimizer,
            objective,
            self.strategy,
            self.state,
            cfg.batch_size,
            xla=resolve_xla_mode(cfg.xla, cfg.batch_size, cfg.encoder),
            steps_per_call=cfg.steps_per_call,
        )
        self.encode = chunked_encoder(self.encoder, shape, pad_to_chunk=is_tpu(self.strategy))

    def _standardize_output_layer(self) -> None:
        """Start the output layer at mean 0 / std 1 on fresh observations (``output_init``)."""
        from tfclica.models.output_init import INIT_SAMPLES, standardize_output_layer

        seed = seeds.as_seed(seed_of(self.cfg.seed, Stream.OUTPUT_INIT))
        standardize_output_layer(self.encoder, self.data.init_observations(INIT_SAMPLES, seed))

    @property
    def step(self) -> tf.Variable:
        """Optimisation steps done (a variable: checkpointed)."""
        return self.state.step

    def quick_scores(self, step: int) -> dict:
        """The scores logged during training at ``step`` (fresh samples each time)."""
        seed = seeds.fold(tf.constant(seed_of(self.cfg.seed, Stream.TRAIN_EVAL)), step)
        return training_scores(self.encode, *self.data.evaluation_sets(self.cfg.eval_samples, seed))

    def run_steps(self):
        """Train until ``total_steps``, checkpointing and logging; returns the loop's result.

        Raises:
            TrainingDivergedError: the loss became non-finite (the last good checkpoint is kept).
        """
        cfg = self.cfg
        own_history = not self.subdir  # the baseline's evaluations are not the run's
        stop_at = cfg.stop_at_threshold if own_history else None
        if stop_at is not None:  # ("r2", 0.99) -> the score the evaluations report
            stop_at = (STOP_AT_METRICS[stop_at[0]], stop_at[1])
        loop = Trainer(
            self.train_step,
            self.manager,
            self.total_steps,
            cfg.eval_every,
            cfg.checkpoint_every,
            str(self.run_dir.log_dir(self.subdir)),
            evaluate=self.quick_scores,
            on_progress=self.on_progress,
            history=self.run_dir.read_history() if own_history else [],
            stop_at=stop_at,
        )
        result = loop.run()
        if own_history:
            self.run_dir.write_history(result.history)
        return result

    def final_sets(self) -> tuple:
        """The fit and held-out sets of the final scores (drawn, or rendered, once per run)."""
        seed = seed_of(self.cfg.seed, Stream.FINAL_EVAL)
        return self.data.evaluation_sets(self.cfg.eval_samples, seed)

    def scores(self, sets: tuple | None = None) -> dict:
        """Final identifiability scores on fresh samples (the metrics.json score fields), on
        ``sets`` (default: :meth:`final_sets`)."""
        return evaluate_on_data(self.encode, self.data, sets or self.final_sets())

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
        result = self.run_steps()
        pairs_per_second = result.pairs_per_second
        if pairs_per_second is None and self.run_dir.has_metrics():
            # Nothing left to train (a resume of a finished run): keep the measured rate.
            pairs_per_second = self.run_dir.read_metrics().get("samples_per_second")
        self.run_dir.save_encoder(self.encoder)  # every worker into its own run directory
        metrics = {
            "preset": cfg.preset,
            "seed": cfg.seed,
            "steps": cfg.steps,
            "batch_size": cfg.batch_size,
            "wall_seconds": 0.0,
            "samples_per_second": pairs_per_second,
            "objective": self.objective_name,
            "replicas": self.replicas,
            "data_shards": self.shards,
            "steps_per_call": cfg.steps_per_call,
            # wall_seconds and samples_per_second cover the steps from here (0: a fresh run).
            "resumed_from_step": start_step,
            "steps_done": int(self.step.numpy()),
            "stopped_early": result.stopped_early,
            "train_seconds": result.history[-1]["seconds"] if result.history else None,
            "time_to_score": time_to_score(result.history),
            "data": self.data.record(),
            **self.scores(sets := self.final_sets()),
        }
        if cfg.objective == "both" and self.objective_name == "unsupervised":
            metrics["supervised"] = self._fit_supervised_baseline(sets)
        metrics["wall_seconds"] = time.perf_counter() - wall_start
        self.run_dir.write_metrics(metrics)
        self.write_pictures(result.history, sets)
        return metrics

    def write_pictures(self, history: list[dict], sets: tuple | None = None) -> None:
        """``latents.png`` (each true latent against its recovered dimension, on the final
        scores' fit set, after the alignment of :func:`picture_alignment`) and
        ``training.png`` (loss, R^2, MCC against steps and seconds)."""
        from tfclica.evaluation.plots import plot_latents, plot_training_curves

        z, x = (sets or self.final_sets())[:2]
        alignment = picture_alignment(self.cfg)
        path = self.run_dir.path / LATENTS_PICTURE
        plot_latents(z, self.encode(x), path, alignment, self.data.factor_names)
        if history:
            plot_training_curves(history, self.run_dir.path / TRAINING_PICTURE)

    def _fit_supervised_baseline(self, sets: tuple) -> dict:
        """The paper's baseline in the same run directory: the same encoder (same initial
        weights, same batches) regressed on z with MSE. Checkpoints in ``checkpoints/supervised``,
        logs in ``logs/supervised``, encoder in ``encoder_supervised.keras``."""
        baseline = TrainingRun(
            self.cfg,
            self.run_dir.path,
            self.on_progress,
            data_shards=self.shards,
            objective="supervised",
            checkpoint_subdir=SUPERVISED_SUBDIR,
            total_steps=self.cfg.baseline_steps or self.cfg.steps,
        )
        result = baseline.run_steps()
        baseline.run_dir.save_encoder(baseline.encoder, SUPERVISED_ENCODER_FILE)
        return {
            "steps": baseline.total_steps,
            "samples_per_second": result.pairs_per_second,
            **baseline.scores(sets),
        }
