"""The observation source a config describes: the one place that maps the config's
``observations`` key to a class (the MLP mixing g, or the renderer)."""

from __future__ import annotations

from tfclica.config.experiment import ExperimentConfig
from tfclica.errors import ConfigError
from tfclica.observations import ObservationSource


def build_observation_source(cfg: ExperimentConfig) -> ObservationSource:
    """A new source for ``cfg``: the MLP mixing g drawn from ``cfg.seed``, or the renderer."""
    if cfg.observations == "render":
        from tfclica.observations.rendered import RenderedImages

        return RenderedImages(cfg.image_size)
    from tfclica.observations.mixing import build_mixing

    return build_mixing(cfg.dim, cfg.mixing_layers, seed=cfg.seed)


def check_observation_source(cfg: ExperimentConfig, source: ObservationSource, where) -> None:
    """Raise :class:`ConfigError` if a saved ``source`` (from the run directory ``where``) is
    not the one ``cfg`` describes."""
    if cfg.observations == "render":
        shape = (cfg.image_size, cfg.image_size, 3)
        if source.kind != "render-3dident" or tuple(source.observation_shape) != shape:
            raise ConfigError(
                f"{where}: its observations are {source.kind} of shape "
                f"{tuple(source.observation_shape)}; the config says rendered images of shape "
                f"{shape}"
            )
        return
    layers = len(getattr(source, "weights", ()))
    if source.latent_dim != cfg.dim or layers != cfg.mixing_layers:
        raise ConfigError(
            f"{where}: its mixing g has dim={source.latent_dim} and {layers} layers, the config "
            f"says dim={cfg.dim} and mixing_layers={cfg.mixing_layers}"
        )
