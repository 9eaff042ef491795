"""Choosing the tf.distribute strategy that ``--strategy`` names."""

from __future__ import annotations

import tensorflow as tf

from tfclica.config import ConfigError


def resolve_strategy(name: str) -> tf.distribute.Strategy:
    """The strategy for ``name`` (``auto``: mirrored if more than one GPU, else default)."""
    if name == "auto":
        name = "mirrored" if len(tf.config.list_logical_devices("GPU")) > 1 else "default"
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    raise ConfigError(f"strategy={name!r} is not available yet")
