"""A config's training pairs as a ``tf.data.Dataset``, for ``keras.Model.fit``.

Batch ``s`` of :func:`pairs_dataset` is step ``s``'s batch of ``tfclica train`` for the same
config: the same seeds (``fold(fold((seed, TRAIN), s), shard)``), the same g (the observation
source a config names is a pure function of it), the same shards. Through the one data seam
(:class:`~tfclica.data.training_data.TrainingData`): the mixing, the renderer or an image folder.
"""

from __future__ import annotations

import tensorflow as tf

from tfclica.errors import ConfigError
from tfclica.latents import build_pair_sampler, seeds
from tfclica.streams import Stream, seed_of

SPLITS = ("train", "eval")


def training_data_of(cfg):
    """The :class:`~tfclica.data.training_data.TrainingData` of ``cfg`` without a run
    directory: its image folder, or its observation source built afresh (the g ``tfclica
    train`` builds for the same config and seed).

    Raises:
        ConfigError: the folder is missing or does not fit the setting.
    """
    from tfclica.data.sources import build_observation_source
    from tfclica.data.training_data import FolderData, SyntheticData

    if cfg.dataset:
        from tfclica.data.dataset import folder_pairs, open_dataset

        folder = open_dataset(cfg)
        return FolderData(
            folder_pairs(cfg, build_pair_sampler(cfg), folder), folder, cfg.image_size
        )
    return SyntheticData(build_pair_sampler(cfg), build_observation_source(cfg))


def pairs_dataset(
    cfg, split: str = "train", data=None, data_shards: int | None = None, start_step: int = 0
) -> tf.data.Dataset:
    """An endless dataset of dict batches ``{"x", "x_pos", "z", "z_pos"}`` of ``cfg.batch_size``
    positive pairs: observations of both views and their true latents.

    Args:
        cfg: the experiment.
        split: ``"train"``: the pairs ``tfclica train`` draws for ``cfg`` (batch ``s`` is step
            ``s``'s); ``"eval"``: fresh pairs of the same g from a stream of their own
            (``Stream.KERAS_EVAL``), never a training batch. An image folder has only
            ``"train"``.
        data: the run's data (default: :func:`training_data_of`).
        data_shards: shards each batch is drawn as (default: the replicas of the
            ``tf.distribute`` strategy in scope, as ``tfclica train``: call it inside
            ``strategy.scope()``); Keras hands shard ``r`` to replica ``r``, so a mirrored
            ``fit`` trains on a mirrored run's batches.
        start_step: the first batch's step (to continue after ``start_step`` steps).

    Raises:
        ConfigError: an unknown split, an ``"eval"`` split of a folder, or a batch that does
            not split into the shards.
    """
    if split not in SPLITS:
        raise ConfigError(f"split={split!r} is not one of: {', '.join(SPLITS)}")
    data = data or training_data_of(cfg)
    shards = data_shards or tf.distribute.get_strategy().num_replicas_in_sync
    if cfg.batch_size % shards:
        raise ConfigError(f"batch_size={cfg.batch_size} must split into data_shards={shards}")
    if not data.compilable:  # an image folder: its own tf.data pipeline of training pairs
        if split != "train":
            raise ConfigError(
                f"dataset={cfg.dataset!r}: an image folder has no fresh pairs, only split='train'"
            )
        data.check_shards(1, shards)
        return data.pairs.dataset(start_step).map(_as_dict)
    stream = Stream.TRAIN if split == "train" else Stream.KERAS_EVAL
    base = seeds.as_seed(seed_of(cfg.seed, stream))
    shard_size, indices = cfg.batch_size // shards, list(range(shards))

    def batch(step):
        z, z_pos = data.draw(seeds.fold(base, step), shard_size, indices)
        x, x_pos = tf.split(data.observe((z, z_pos), pairs=True), 2, axis=0)
        return {"x": x, "x_pos": x_pos, "z": z, "z_pos": z_pos}

    steps = tf.data.Dataset.counter(start_step, dtype=tf.int64)
    return steps.map(batch).prefetch(tf.data.AUTOTUNE)


def _as_dict(z, z_pos, x, x_pos) -> dict:
    return {"x": x, "x_pos": x_pos, "z": z, "z_pos": z_pos}
