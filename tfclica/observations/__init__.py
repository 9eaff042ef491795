"""Where observations come from: sources that turn latents into observations on the device.

An :class:`ObservationSource` maps a batch of latents ``z`` to observations ``x = g(z)`` inside
the compiled train step, and describes itself (a JSON spec and arrays) so that a run directory
can store it and any later evaluation is exact. The trainer only ever sees this interface: the
MLP mixing of the paper's synthetic experiments is one source (:mod:`~tfclica.observations.mixing`),
the 3DIdent-like renderer another (:mod:`~tfclica.observations.renderer`, the scene;
:mod:`~tfclica.observations.rendered`, the source that renders pairs inside the step).
"""

from tfclica.observations.base import (
    ObservationSource,
    register_source,
    source_class,
    source_from_saved,
)

__all__ = ["ObservationSource", "register_source", "source_class", "source_from_saved"]
