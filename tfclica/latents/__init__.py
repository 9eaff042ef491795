"""Latent spaces, their distributions, and positive-pair sampling."""

from tfclica.latents import seeds
from tfclica.latents.factory import build_pair_sampler
from tfclica.latents.pairs import PairSampler
from tfclica.latents.sphere import UniformSphere
from tfclica.latents.vmf import VonMisesFisher, sample_wood

__all__ = [
    "seeds",
    "PairSampler",
    "UniformSphere",
    "VonMisesFisher",
    "build_pair_sampler",
    "sample_wood",
]
