"""Latent spaces, their distributions, and positive-pair sampling."""

from tfclica.latents import seeds
from tfclica.latents.coordinatewise import (
    TruncatedGenNormal,
    TruncatedLaplace,
    TruncatedNormal,
    UniformBox,
)
from tfclica.latents.pairs import PairSampler
from tfclica.latents.product import Product
from tfclica.latents.samplers import build_pair_sampler, make_pair_sampler, product_pair_sampler
from tfclica.latents.spaces import Box, Euclidean, ProductSpace, Space, Sphere, space_from_config
from tfclica.latents.sphere import OnSphere, RadialProjection, UniformSphere
from tfclica.latents.vmf import VonMisesFisher, sample_wood

__all__ = [
    "seeds",
    "Box",
    "Euclidean",
    "OnSphere",
    "PairSampler",
    "Product",
    "ProductSpace",
    "RadialProjection",
    "Space",
    "Sphere",
    "TruncatedGenNormal",
    "TruncatedLaplace",
    "TruncatedNormal",
    "UniformBox",
    "UniformSphere",
    "VonMisesFisher",
    "build_pair_sampler",
    "make_pair_sampler",
    "product_pair_sampler",
    "sample_wood",
    "space_from_config",
]
