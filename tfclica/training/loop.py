"""The training loop: runs a :class:`TrainStep` to the end of its schedule, and nothing else.

It calls the compiled step in chunks that end on every evaluation and checkpoint boundary,
writes checkpoints and TensorBoard scalars, asks its evaluator for scores at the evaluation
steps, keeps the evaluation history (for time-to-score), and reports progress.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import tensorflow as tf
from tensorflow.core.framework import summary_pb2

from tfclica.errors import TrainingDivergedError
from tfclica.training.optim import current_learning_rate
from tfclica.training.step import TrainStep

# Thresholds of the time-to-score fields of metrics.json: score key -> thresholds.
SCORE_THRESHOLDS = {
    "r2_linear_heldout": (0.9, 0.95, 0.99),
    "mcc_pearson": (0.9, 0.95, 0.98),
}


@dataclass(frozen=True)
class Progress:
    """What the loop reports after each call of the step (for progress bars and logs)."""

    step: int
    total_steps: int
    loss: float
    r2: float | None
    pairs_per_second: float | None
    collapsed: bool = False  # the latest evaluation found collapsed encodings


@dataclass
class LoopResult:
    """What a finished (or early-stopped) loop measured.

    Attributes:
        pairs_per_second: positive pairs per second over the calls after the first (which
            compiles); the first call's rate when it was the only one; None if no step ran.
        history: every evaluation of the run, oldest first (earlier sessions included).
        stopped_early: ``--stop-at`` ended the run at ``history[-1]["step"]``.
    """

    pairs_per_second: float | None
    history: list[dict] = field(default_factory=list)
    stopped_early: bool = False


_SCALAR_METADATA = summary_pb2.SummaryMetadata(
    plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="scalars")
)


def _scalar(name: str, value: float) -> None:
    """A TensorBoard scalar without the tensorboard package (TF 2.21 no longer ships it)."""
    tf.summary.write(name, tf.constant(value, tf.float32), metadata=_SCALAR_METADATA)


def time_to_score(history: list[dict]) -> dict:
    """For each score and threshold of :data:`SCORE_THRESHOLDS`, the first evaluation that
    reached it: ``{score: {str(threshold): {"step", "seconds"} | None}}``."""
    out = {}
    for score, thresholds in SCORE_THRESHOLDS.items():
        out[score] = {}
        for threshold in thresholds:
            hit = next((h for h in history if h.get(score, -math.inf) >= threshold), None)
            out[score][str(threshold)] = (
                None if hit is None else {"step": hit["step"], "seconds": hit["seconds"]}
            )
    return out


class Trainer:
    """Runs a compiled train step to ``total_steps``.

    Args:
        train_step: the compiled step (its ``state.step`` says where training stands).
        manager: the ``tf.train.CheckpointManager`` of the run's checkpoint.
        total_steps: where training ends.
        eval_every: steps between evaluations (and the last step).
        checkpoint_every: steps between checkpoints (and the last step).
        log_dir: TensorBoard directory.
        evaluate: ``evaluate(step) -> scores`` (``r2_linear``, ``r2_linear_heldout``,
            ``mcc_pearson``); None: no evaluations.
        on_progress: called with a :class:`Progress` after every call of the step.
        history: evaluations of earlier sessions of this run (a resume continues it).
        stop_at: ``(score key, threshold)``: stop after the first evaluation reaching it.
    """

    def __init__(
        self,
        train_step: TrainStep,
        manager: tf.train.CheckpointManager,
        total_steps: int,
        eval_every: int,
        checkpoint_every: int,
        log_dir: str,
        evaluate: Callable[[int], dict] | None = None,
        on_progress: Callable[[Progress], None] | None = None,
        history: list[dict] | None = None,
        stop_at: tuple[str, float] | None = None,
    ):
        self.train_step, self.manager = train_step, manager
        self.total_steps, self.eval_every = total_steps, eval_every
        self.checkpoint_every, self.log_dir = checkpoint_every, log_dir
        self.evaluate, self.on_progress, self.stop_at = evaluate, on_progress, stop_at
        self.history = list(history or [])

    def _next_stop(self, step: int) -> int:
        """The end of the next call: at most ``steps_per_call`` on, and never past an
        evaluation, a checkpoint or the end."""
        boundaries = [
            step + self.train_step.steps_per_call,
            self.total_steps,
            (step // self.checkpoint_every + 1) * self.checkpoint_every,
        ]
        if self.evaluate is not None:
            boundaries.append((step // self.eval_every + 1) * self.eval_every)
        return min(boundaries)

    def run(self) -> LoopResult:
        """Train to ``total_steps`` (or ``stop_at``), checkpointing and logging.

        Raises:
            TrainingDivergedError: the loss became non-finite (the last good checkpoint is kept).
        """
        state = self.train_step.state
        step = int(state.step.numpy())
        self.history = [h for h in self.history if h["step"] <= step]  # a resume replays
        seconds = self.history[-1]["seconds"] if self.history else 0.0
        batch = self.train_step.batch_size
        writer = tf.summary.create_file_writer(self.log_dir)
        result = LoopResult(None, self.history)
        timed_seconds, timed_steps, calls = 0.0, 0, 0
        last_r2 = self.history[-1].get("r2_linear") if self.history else None
        collapsed = bool(self.history[-1].get("collapsed")) if self.history else False
        while step < self.total_steps:
            count = self._next_stop(step) - step
            t0 = time.perf_counter()
            try:
                losses = self.train_step(count)
            except KeyboardInterrupt:  # keep every finished step
                self.manager.save(checkpoint_number=int(state.step.numpy()))
                raise
            elapsed = time.perf_counter() - t0
            seconds += elapsed
            calls += 1
            with writer.as_default():
                for i, loss in enumerate(losses):
                    tf.summary.experimental.set_step(step + i + 1)
                    _scalar("loss", float(loss))
            step += len(losses)
            if len(losses) < count or not math.isfinite(losses[-1]):
                # No save from here on: the weights already hold the bad update.
                last = self.manager.latest_checkpoint or "none (diverged before the first)"
                raise TrainingDivergedError(
                    f"loss became {losses[-1]} at step {step}; last good checkpoint: {last}"
                )
            if calls > 1:  # the first call includes compilation
                timed_seconds += elapsed
                timed_steps += len(losses)
                result.pairs_per_second = timed_steps * batch / timed_seconds
            elif result.pairs_per_second is None:  # until a second call: the first's rate
                result.pairs_per_second = len(losses) * batch / elapsed
            if self.evaluate is not None and (
                step % self.eval_every == 0 or step == self.total_steps
            ):
                scores = self.evaluate(step)
                last_r2, collapsed = scores["r2_linear"], bool(scores.get("collapsed"))
                self.history.append(
                    {"step": step, "seconds": seconds, "loss": float(losses[-1]), **scores}
                )
                with writer.as_default(step=step):
                    for name, value in scores.items():
                        _scalar(name, float(value))
                    _scalar("learning_rate", current_learning_rate(self.train_step.optimizer))
                    if result.pairs_per_second:
                        _scalar("pairs_per_second", result.pairs_per_second)
                if self.stop_at and scores[self.stop_at[0]] >= self.stop_at[1]:
                    result.stopped_early = True
            if (
                step % self.checkpoint_every == 0
                or step == self.total_steps
                or (result.stopped_early)
            ):
                self.manager.save(checkpoint_number=step)
            if self.on_progress:
                rate = result.pairs_per_second
                loss = float(losses[-1])
                self.on_progress(Progress(step, self.total_steps, loss, last_r2, rate, collapsed))
            if result.stopped_early:
                break
        writer.flush()
        return result
