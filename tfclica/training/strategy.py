"""Choosing the tf.distribute strategy that ``--strategy`` names.

* ``default``: one device (the fast path: the whole train step is one XLA program).
* ``mirrored``: every GPU of this machine, or every logical CPU device when there is no GPU.
* ``multi-worker``: ``MultiWorkerMirroredStrategy``; every worker runs the same command with its
  own ``TF_CONFIG`` (see README, "Multi-worker").
* ``tpu``: ``TPUStrategy`` on the TPU that ``TPUClusterResolver`` finds (``TPU_NAME`` names a
  remote one; empty means a local TPU VM).
* ``auto``: TPU if one is visible, mirrored if more than one GPU, else default.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import tensorflow as tf

from tfclica.errors import ConfigError


def _tpu_visible() -> bool:
    """A cheap check before asking a resolver (which may wait on a metadata server)."""
    return bool(os.environ.get("TPU_NAME")) or any(Path("/dev").glob("accel*"))


def _tpu_strategy() -> tf.distribute.Strategy:
    try:
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(
            tpu=os.environ.get("TPU_NAME", "")
        )
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
    except (ValueError, RuntimeError, tf.errors.OpError) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ConfigError(f"strategy='tpu': no TPU found ({first})") from None
    return tf.distribute.TPUStrategy(resolver)


def _multi_worker_strategy() -> tf.distribute.Strategy:
    raw = os.environ.get("TF_CONFIG")
    if not raw:
        raise ConfigError("strategy='multi-worker' needs the TF_CONFIG environment variable")
    try:
        spec = json.loads(raw)
        spec["cluster"]["worker"], spec["task"]["index"]  # noqa: B018 - presence check
    except (ValueError, KeyError, TypeError):
        raise ConfigError(
            f"TF_CONFIG={raw!r} is not a cluster spec "
            '(expected {"cluster": {"worker": [...]}, "task": {"type": "worker", "index": i}})'
        ) from None
    options = tf.distribute.experimental.CommunicationOptions(
        implementation=tf.distribute.experimental.CommunicationImplementation.AUTO
    )
    return tf.distribute.MultiWorkerMirroredStrategy(communication_options=options)


def resolve_strategy(name: str) -> tf.distribute.Strategy:
    """The strategy for ``name``; :class:`ConfigError` if it cannot run here.

    One instance per name and process: two MirroredStrategy objects in one process issue
    collectives with clashing instance keys, and MultiWorkerMirroredStrategy may only be
    created once.
    """
    if name not in _STRATEGIES:
        _STRATEGIES[name] = _create_strategy(name)
    return _STRATEGIES[name]


_STRATEGIES: dict[str, tf.distribute.Strategy] = {}


def _create_strategy(name: str) -> tf.distribute.Strategy:
    if name == "auto":
        if _tpu_visible():
            name = "tpu"
        else:
            name = "mirrored" if len(tf.config.list_logical_devices("GPU")) > 1 else "default"
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        gpus = tf.config.list_logical_devices("GPU")
        devices = [d.name for d in (gpus or tf.config.list_logical_devices("CPU"))]
        return tf.distribute.MirroredStrategy(devices)
    if name == "multi-worker":
        return _multi_worker_strategy()
    if name == "tpu":
        return _tpu_strategy()
    raise ConfigError(
        f"strategy={name!r} is not one of: auto, default, mirrored, multi-worker, tpu"
    )


def is_tpu(strategy: tf.distribute.Strategy) -> bool:
    """True for TPUStrategy (static shapes everywhere)."""
    return isinstance(strategy, tf.distribute.TPUStrategy)
