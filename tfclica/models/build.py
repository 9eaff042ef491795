"""The encoder a config describes: the one place that maps the config's ``encoder`` key to a
class (the observation source's is :mod:`tfclica.data.sources`)."""

from __future__ import annotations

from tfclica.config.experiment import ExperimentConfig


def build_encoder(cfg: ExperimentConfig, observation_shape: tuple[int, ...]):
    """The Keras encoder of ``cfg`` for observations of ``observation_shape``: the reference MLP
    (``encoder="mlp"``) or a convolutional encoder (:mod:`tfclica.models.conv_encoders`)."""
    dtype = None if cfg.precision == "float32" else cfg.precision
    if cfg.encoder == "mlp":
        from tfclica.models.encoders import build_mlp_encoder

        return build_mlp_encoder(
            int(observation_shape[0]),
            cfg.dim,
            cfg.hidden_widths,
            cfg.head,
            radius=cfg.radius,
            seed=cfg.seed,
            dtype=dtype,
        )
    from tfclica.models.conv_encoders import CONV_ENCODERS

    build = CONV_ENCODERS[cfg.encoder]
    return build(
        tuple(observation_shape), cfg.dim, cfg.head, radius=cfg.radius, seed=cfg.seed, dtype=dtype
    )
