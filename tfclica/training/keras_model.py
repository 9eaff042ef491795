"""The package's training step as a ``keras.Model``: train any encoder with ``fit`` and Keras's
callbacks.

:class:`ContrastiveModel` wraps an encoder and an InfoNCE-family loss; its ``train_step`` is the
custom loop's step (:func:`~tfclica.training.step.loss_and_grads`: both views through the
encoder at once, the negatives gathered from every replica, the loss over the global batch), so
``fit`` and ``tfclica train`` share one copy of the maths. Batches are dicts with ``x`` and
``x_pos`` (:func:`tfclica.data.pairs_dataset.pairs_dataset` makes them).
"""

from __future__ import annotations

import keras
import tensorflow as tf

from tfclica.errors import ConfigError
from tfclica.streams import Stream, seed_of
from tfclica.training.objectives import ContrastiveObjective
from tfclica.training.step_loss import loss_and_grads

VIEWS = ("x", "x_pos")


@keras.saving.register_keras_serializable(package="tfclica")
class ContrastiveModel(keras.Model):
    """An encoder trained contrastively on positive pairs by ``fit``.

    Calling the model encodes (``model(x)`` is ``model.encoder(x)``); ``fit`` trains the encoder
    on dict batches ``{"x": [B, ...], "x_pos": [B, ...]}`` (other keys are ignored).

    Args:
        encoder: a Keras model ``x -> z_hat`` (any: the package's or your own).
        loss: a tfclica loss (:func:`tfclica.losses.build_loss`: ``CosineInfoNCE``,
            ``LpInfoNCE``, ...), which knows its negatives.
        **kwargs: ``keras.Model``'s (``name``, ...).

    Raises:
        ConfigError: ``loss`` is not one of tfclica's contrastive losses.
    """

    def __init__(self, encoder: keras.Model, loss, **kwargs):
        super().__init__(**kwargs)
        if not hasattr(loss, "per_anchor"):
            raise ConfigError(
                f"loss={loss!r} is not a tfclica contrastive loss (tfclica.build_loss makes one)"
            )
        if len(encoder.output_shape) != 2:
            raise ConfigError(
                f"the encoder's output is {encoder.output_shape}: the loss compares one vector "
                "per observation, [batch, m]"
            )
        self.encoder = encoder
        self.contrastive_loss = loss  # not `loss`: that name is compile()'s
        self.objective = ContrastiveObjective(loss)
        self.loss_tracker = keras.metrics.Mean(name="loss")
        if encoder.built:  # so saving keeps, and loading restores, the optimizer's state
            self.built = True

    def call(self, x, training=False):
        return self.encoder(x, training=training)

    @property
    def metrics(self):
        return [self.loss_tracker]

    def train_step(self, data):
        x, x_pos = _views(data)
        self._check_input(x)
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        global_batch = tf.shape(x)[0] * replicas

        def observe():
            return tf.concat([x, x_pos], axis=0)

        loss, grads = loss_and_grads(
            self.encoder, self.objective, self.optimizer, observe, None, global_batch
        )
        self.optimizer.apply_gradients(zip(grads, self.encoder.trainable_variables))
        # Each replica's loss is its part of the global mean: the sum is the step's loss.
        total = tf.distribute.get_replica_context().all_reduce(tf.distribute.ReduceOp.SUM, loss)
        self.loss_tracker.update_state(total)
        return {"loss": self.loss_tracker.result()}

    def _check_input(self, x) -> None:
        expected, got = tuple(self.encoder.input_shape[1:]), tuple(x.shape[1:])
        if None not in expected + got and expected != got:
            raise ConfigError(
                f"the batches' x is [batch, {', '.join(map(str, got))}] but the encoder takes "
                f"[batch, {', '.join(map(str, expected))}]"
            )

    def test_step(self, data):
        """``evaluate``'s loss: the mean per-anchor loss with this replica's batch as the
        negatives (no gradient, no gather)."""
        x, x_pos = _views(data)
        h = self.encoder(tf.concat([x, x_pos], axis=0), training=False)
        anchors, positives = tf.split(h, 2, axis=0)
        per_anchor = self.contrastive_loss.per_anchor(anchors, positives, anchors, positives, 0)
        self.loss_tracker.update_state(tf.reduce_mean(per_anchor))
        return {"loss": self.loss_tracker.result()}

    def get_config(self):
        return {
            "name": self.name,
            "encoder": keras.saving.serialize_keras_object(self.encoder),
            "loss": keras.saving.serialize_keras_object(self.contrastive_loss),
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        encoder = keras.saving.deserialize_keras_object(config.pop("encoder"))
        loss = keras.saving.deserialize_keras_object(config.pop("loss"))
        return cls(encoder, loss, **config)


def _views(data) -> tuple[tf.Tensor, tf.Tensor]:
    """``(x, x_pos)`` of a batch, or a :class:`ConfigError` naming what is missing."""
    if isinstance(data, tuple) and len(data) == 1:  # Keras wraps x-only batches
        data = data[0]
    if not isinstance(data, dict) or any(key not in data for key in VIEWS):
        keys = sorted(data) if isinstance(data, dict) else type(data).__name__
        raise ConfigError(
            f"ContrastiveModel trains on dict batches with keys 'x' and 'x_pos' (both views of "
            f"each pair; tfclica.pairs_dataset makes them), got {keys}"
        )
    return data["x"], data["x_pos"]


def build_contrastive_model(cfg, data=None) -> ContrastiveModel:
    """The :class:`ContrastiveModel` ``tfclica train`` trains for ``cfg``, compiled: its
    encoder (same initial weights; the output layer standardised where ``cfg.output_init``
    says), loss, Adam with the learning-rate schedule and clipping, and the XLA policy.

    Build it inside a strategy's scope to train it on several replicas.

    Args:
        cfg: the experiment.
        data: the run's data (default: :func:`tfclica.data.pairs_dataset.training_data_of`).

    Raises:
        ConfigError: a supervised objective (``fit`` trains the contrastive one).
    """
    from tfclica.data.pairs_dataset import training_data_of
    from tfclica.latents import seeds
    from tfclica.losses import build_loss
    from tfclica.models.build import build_encoder
    from tfclica.training.optim import build_optimizer
    from tfclica.training.step import resolve_xla_mode

    if cfg.objective == "supervised":
        raise ConfigError("objective='supervised': ContrastiveModel trains the contrastive loss")
    data = data or training_data_of(cfg)
    encoder = build_encoder(cfg, data.observation_shape)
    if cfg.output_init == "standardized":
        from tfclica.models.output_init import INIT_SAMPLES, standardize_output_layer

        seed = seeds.as_seed(seed_of(cfg.seed, Stream.OUTPUT_INIT))
        standardize_output_layer(encoder, data.init_observations(INIT_SAMPLES, seed))
    loss = build_loss(cfg.loss, tau=cfg.tau, p=cfg.model_p, negatives=cfg.negatives)
    model = ContrastiveModel(encoder, loss)
    one_device = tf.distribute.get_strategy().num_replicas_in_sync == 1
    xla = one_device and resolve_xla_mode(cfg.xla, cfg.batch_size, cfg.encoder) == "step"
    model.compile(optimizer=build_optimizer(cfg), jit_compile=bool(xla and data.compilable))
    return model


class ScoresCallback(keras.callbacks.Callback):
    """Scores the encoder every ``every`` steps into the logs, as ``tfclica train`` does:
    ``r2_linear``, ``r2_linear_heldout``, ``mcc_pearson`` on fresh fit and held-out sets of the
    run's data (``TrainingData.evaluation_sets`` from ``fold((seed, TRAIN_EVAL), step)``), so
    TensorBoard shows them beside the loss and EarlyStopping can watch them.

    Args:
        cfg: the experiment (``seed``, ``eval_samples``).
        every: steps between scores (default ``cfg.eval_every``).
        data: the run's data (default: :func:`tfclica.data.pairs_dataset.training_data_of`).
    """

    def __init__(self, cfg, every: int | None = None, data=None):
        super().__init__()
        from tfclica.data.pairs_dataset import training_data_of

        self.cfg, self.every = cfg, int(every or cfg.eval_every)
        self.data = data or training_data_of(cfg)
        self.latest: dict = {}
        self._encode = None

    def scores(self, step: int) -> dict:
        """The scores of the encoder now, on step ``step``'s evaluation sets."""
        from tfclica.evaluation.scoring import chunked_encoder, training_scores
        from tfclica.latents import seeds

        if self._encode is None:  # compiled once
            self._encode = chunked_encoder(self.model.encoder, tuple(self.data.observation_shape))
        seed = seeds.fold(tf.constant(seed_of(self.cfg.seed, Stream.TRAIN_EVAL)), step)
        sets = self.data.evaluation_sets(self.cfg.eval_samples, seed)
        scores = training_scores(self._encode, *sets)
        return {k: float(v) for k, v in scores.items() if k != "collapsed"}

    def on_train_batch_end(self, batch, logs=None):
        step = int(self.model.optimizer.iterations.numpy())
        if step % self.every == 0:
            self.latest = self.scores(step)
        if logs is not None:
            logs.update(self.latest)

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None and self.latest:
            logs.update(self.latest)
