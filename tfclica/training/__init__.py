"""Training: the compiled step, the loop, the objectives, and one run into a run directory.

- :class:`TrainStep` (``step.py``): ``steps_per_call`` compiled steps per call and the XLA policy.
- :class:`Trainer` (``loop.py``): runs a step to the end of a schedule (checkpoints, logs,
  evaluations, progress).
- :class:`ContrastiveObjective`, :class:`SupervisedObjective` (``objectives.py``).
- :class:`TrainingRun` (``run.py``): builds the parts from a config and trains them into a run
  directory, with the supervised baseline for ``objective="both"``.
"""

from tfclica.training.loop import (
    SCORE_THRESHOLDS,
    LoopResult,
    Progress,
    Trainer,
    time_to_score,
)
from tfclica.training.objectives import (
    ContrastiveObjective,
    Objective,
    SupervisedObjective,
    build_objective,
)
from tfclica.training.run import SUPERVISED_ENCODER_FILE, TrainingRun
from tfclica.training.step import CPU_WHOLE_STEP_BELOW, TrainState, TrainStep, resolve_xla_mode

__all__ = [
    "CPU_WHOLE_STEP_BELOW",
    "SCORE_THRESHOLDS",
    "SUPERVISED_ENCODER_FILE",
    "ContrastiveObjective",
    "LoopResult",
    "Objective",
    "Progress",
    "SupervisedObjective",
    "TrainState",
    "TrainStep",
    "Trainer",
    "TrainingRun",
    "build_objective",
    "resolve_xla_mode",
    "time_to_score",
]
