"""The InfoNCE family of contrastive losses, as Keras-serializable losses and functions.

Modules, one concept each:

- :mod:`~tfclica.losses.classes`: the Keras losses (``CosineInfoNCE``, ``LpInfoNCE``, ``NTXent``,
  ``AlignUniform``) and :func:`build_loss`, the ``--loss`` vocabulary;
- :mod:`~tfclica.losses.functional`: the per-anchor losses as functions, formulas in docstrings;
- :mod:`~tfclica.losses.distance`: the Lp distance ``sum_k |u_k - v_k|^p`` and its pieces;
- :mod:`~tfclica.losses.similarity_kernels`: fused custom-gradient logsumexp kernels of the
  dot-product losses and their block structure (read by :mod:`tfclica.experiments.flops`);
- :mod:`~tfclica.losses.distance_kernels`: the row-blocked custom-gradient logsumexp of the Lp
  losses (:func:`lp_logsumexp`) and its block structure;
- :mod:`~tfclica.losses.self_distance_kernels`: its symmetric kernels for the anchors as their
  own negatives (one replica).
"""

from tfclica.losses.classes import (
    AlignUniform,
    CosineInfoNCE,
    LpInfoNCE,
    NTXent,
    build_loss,
)
from tfclica.losses.distance import EPS, lp_distance
from tfclica.losses.distance_kernels import DISTANCE_ROWS, lp_logsumexp
from tfclica.losses.functional import align_uniform, cosine_infonce, lp_infonce, ntxent
from tfclica.losses.similarity_kernels import (
    SHARED_SHIFT_MARGIN,
    SIMILARITY_ROWS,
    blocked_similarity_logsumexp,
    logsumexp_with_column,
    self_similarity_logsumexp,
    similarity_logsumexp,
)

__all__ = [
    "DISTANCE_ROWS",
    "EPS",
    "SHARED_SHIFT_MARGIN",
    "SIMILARITY_ROWS",
    "AlignUniform",
    "CosineInfoNCE",
    "LpInfoNCE",
    "NTXent",
    "align_uniform",
    "blocked_similarity_logsumexp",
    "build_loss",
    "cosine_infonce",
    "logsumexp_with_column",
    "lp_distance",
    "lp_infonce",
    "lp_logsumexp",
    "ntxent",
    "self_similarity_logsumexp",
    "similarity_logsumexp",
]
