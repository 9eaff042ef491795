"""The common base of tfclica's own TFP distributions."""

from __future__ import annotations

import tensorflow_probability as tfp

tfd = tfp.distributions


class FixedDistribution(tfd.Distribution):
    """A ``tfd.Distribution`` whose parameters are fixed when it is built.

    TFP uses ``_parameter_properties`` to slice and batch parameters; these distributions hold
    constants or already-broadcast tensors, so there is nothing to declare. Subclasses implement
    ``_event_shape``, ``_batch_shape``, ``_sample_n`` and, where defined, ``_log_prob``.

    Args:
        dtype: dtype of the samples.
        parameters: ``dict(locals())`` of the subclass constructor (TFP's convention).
        name: distribution name.
        reparameterized: whether samples are differentiable in the parameters.
    """

    def __init__(self, dtype, parameters: dict, name: str, reparameterized: bool):
        super().__init__(
            dtype=dtype,
            reparameterization_type=(
                tfd.FULLY_REPARAMETERIZED if reparameterized else tfd.NOT_REPARAMETERIZED
            ),
            validate_args=False,
            allow_nan_stats=True,
            parameters=parameters,
            name=name,
        )

    @classmethod
    def _parameter_properties(cls, dtype, num_classes=None):
        return {}
