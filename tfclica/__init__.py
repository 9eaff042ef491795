"""tfclica: contrastive learning inverts the data generating process, in TensorFlow/Keras.

The public API, in the order data flows (config -> latents -> observations -> encoder -> loss ->
training -> evaluation / export). Importing ``tfclica`` is cheap: each name below imports its
module (and TensorFlow) only when first used::

    import tfclica
    cfg = tfclica.get_preset("default").config.replace(steps=500)
    metrics = tfclica.TrainingRun(cfg, tfclica.prepare_run_dir("runs/try")).fit()

See docs/DESIGN.md for the layout and the contracts (CLI, run directory, metrics.json, exports).
"""

from __future__ import annotations

import importlib

from tfclica import keras_objects

__version__ = "0.1.0"

# After `import tfclica`, keras.saving.load_model knows tfclica's layers (no import here).
keras_objects.install()

# public name -> module that defines it
_EXPORTS = {
    # config and presets
    "ExperimentConfig": "tfclica.config.experiment",
    "get_preset": "tfclica.presets",
    "all_presets": "tfclica.presets",
    # errors
    "ConfigError": "tfclica.errors",
    "RunError": "tfclica.errors",
    "TrainingDivergedError": "tfclica.errors",
    "ParityError": "tfclica.errors",
    # latents: p(z), p(z~|z)
    "build_pair_sampler": "tfclica.latents",
    "PairSampler": "tfclica.latents",
    # observations: x = g(z)
    "ObservationSource": "tfclica.observations",
    "Mixing": "tfclica.observations.mixing",
    "build_mixing": "tfclica.observations.mixing",
    # encoders and losses
    "build_mlp_encoder": "tfclica.models.encoders",
    "build_loss": "tfclica.losses",
    "CosineInfoNCE": "tfclica.losses",
    "LpInfoNCE": "tfclica.losses",
    # metrics and evaluation
    "linear_r2": "tfclica.evaluation.metrics",
    "mcc": "tfclica.evaluation.metrics",
    "identifiability_scores": "tfclica.evaluation.metrics",
    "evaluate_encoder": "tfclica.evaluation.scoring",
    # training
    "TrainStep": "tfclica.training",
    "Trainer": "tfclica.training",
    "TrainingRun": "tfclica.training",
    # Keras-native training: fit, callbacks, saving
    "ContrastiveModel": "tfclica.training.keras_model",
    "build_contrastive_model": "tfclica.training.keras_model",
    "ScoresCallback": "tfclica.training.keras_model",
    "pairs_dataset": "tfclica.data.pairs_dataset",
    # run directories and exports
    "RunDirectory": "tfclica.rundir",
    "prepare_run_dir": "tfclica.rundir",
    "export_run": "tfclica.export",
    "load_encoder": "tfclica.export",
    "load_keras_encoder": "tfclica.export",
}

__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'tfclica' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return __all__
