"""Products of distributions: independent blocks of coordinates, concatenated."""

from __future__ import annotations

import tensorflow as tf

from tfclica.latents import seeds
from tfclica.latents.base import FixedDistribution


class Product(FixedDistribution):
    """Independent components whose event vectors are concatenated (event ``[sum n_i]``).

    Like ``tfd.Blockwise``, but every component is drawn from its own seed derived with
    :mod:`~tfclica.latents.seeds`, so the product is as stateless and XLA-safe as its parts.
    Components must share a batch shape.

    Args:
        components: distributions with event shapes ``[n_i]``.
    """

    def __init__(self, components, name="Product"):
        parameters = dict(locals())
        self._components = tuple(components)
        if not self._components:
            raise ValueError("a product needs at least one component")
        self._sizes = [int(c.event_shape[0]) for c in self._components]
        super().__init__(self._components[0].dtype, parameters, name, reparameterized=False)

    @property
    def components(self) -> tuple:
        return self._components

    def _event_shape(self):
        return tf.TensorShape([sum(self._sizes)])

    def _batch_shape(self):
        return self._components[0].batch_shape

    def _sample_n(self, n, seed=None):
        parts = seeds.split(seeds.as_seed(seed), len(self._components))
        draws = [c.sample(n, seed=s) for c, s in zip(self._components, parts)]
        return tf.concat(draws, axis=-1)

    def _log_prob(self, x):
        blocks = tf.split(x, self._sizes, axis=-1)
        return tf.add_n([c.log_prob(b) for c, b in zip(self._components, blocks)])
