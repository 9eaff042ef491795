"""Import TensorFlow without its start-up chatter (oneDNN, CUDA-probe and absl lines)."""

from __future__ import annotations

import os
import sys


def import_tensorflow_quietly() -> None:
    """Import TensorFlow (and TFP) with C++ logging raised to errors and start-up lines muted.

    Some lines are printed by absl before any log level applies, so stderr's file descriptor is
    pointed at /dev/null for the duration of the import only. Python errors still propagate.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if "tensorflow" in sys.modules:
        return
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as devnull:
            os.dup2(devnull.fileno(), 2)
            import tensorflow  # noqa: F401
            import tensorflow_probability  # noqa: F401
    finally:
        os.dup2(saved, 2)
        os.close(saved)
