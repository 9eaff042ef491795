"""Checkpoints that survive a kill: restore the newest *complete* checkpoint.

``tf.train.CheckpointManager.save`` writes ``ckpt-N.data-*`` and ``ckpt-N.index`` (each through
a temporary name and a rename), and only then rewrites the ``checkpoint`` state file atomically.
A kill before that last rename leaves the state file naming the previous checkpoint, so the
newest listed checkpoint is complete. Restoring still falls back over older checkpoints, newest
first, in case a file was damaged later (full disk, copy, manual edit): a run with any readable
checkpoint stays resumable.
"""

from __future__ import annotations

import logging

import tensorflow as tf

from tfclica.errors import ConfigError

log = logging.getLogger(__name__)


def restore_newest_readable(
    checkpoint: tf.train.Checkpoint, manager: tf.train.CheckpointManager
) -> str | None:
    """Restore the newest checkpoint of ``manager`` that reads completely.

    Returns:
        The path restored, or ``None`` when the run has no checkpoint yet (a fresh start).

    Raises:
        ConfigError: checkpoints exist but none matches the model being built (a changed
            setting) or none is readable; the run is never silently restarted over them.
    """
    for path in reversed(manager.checkpoints):
        try:
            checkpoint.restore(path).assert_existing_objects_matched()
        except AssertionError as err:  # the files read, but hold another model's variables
            raise ConfigError(
                f"checkpoint {path} does not match this run's settings ({str(err)[:120]}); "
                "resume with the run's own config.toml"
            ) from None
        except Exception as err:  # noqa: BLE001 - TF raises OpError, IndexError, ValueError...
            log.warning("checkpoint %s is unreadable (%s); trying an older one", path, err)
            continue
        return path
    if manager.checkpoints:
        raise ConfigError(
            f"no readable checkpoint among {len(manager.checkpoints)} in {manager.directory}; "
            "move the run directory away to start over"
        )
    return None
