"""Training: the compiled step, the loop, the objectives, and one run into a run directory.

- :class:`TrainStep` (``step.py``): ``steps_per_call`` compiled steps per call and the XLA policy.
- :class:`Trainer` (``loop.py``): runs a step to the end of a schedule (checkpoints, logs,
  evaluations, progress).
- :class:`ContrastiveObjective`, :class:`SupervisedObjective` (``objectives.py``).
- :class:`TrainingRun` (``run.py``): builds the parts from a config and trains them into a run
  directory, with the supervised baseline for ``objective="both"``.
- :class:`ContrastiveModel` (``keras_model.py``): the same step as a ``keras.Model`` for
  ``fit``, with :func:`build_contrastive_model` and :class:`ScoresCallback`.

The names below import their module when first used: importing a submodule (as Keras's
registration of ``optim``'s schedule does) never imports the rest of the package.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "SCORE_THRESHOLDS": "loop",
    "LoopResult": "loop",
    "Progress": "loop",
    "Trainer": "loop",
    "time_to_score": "loop",
    "ContrastiveObjective": "objectives",
    "Objective": "objectives",
    "SupervisedObjective": "objectives",
    "build_objective": "objectives",
    "SUPERVISED_ENCODER_FILE": "run",
    "TrainingRun": "run",
    "CPU_WHOLE_STEP_BELOW": "step",
    "TrainState": "step",
    "TrainStep": "step",
    "resolve_xla_mode": "step",
    "ContrastiveModel": "keras_model",
    "build_contrastive_model": "keras_model",
    "ScoresCallback": "keras_model",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'tfclica.training' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"tfclica.training.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
