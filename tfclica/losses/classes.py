"""The InfoNCE family as Keras-serializable losses (formulas: :mod:`tfclica.losses.functional`).

``Loss.call`` returns one value per anchor and ``Loss.__call__`` their mean. Under data
parallelism each replica holds a slice of the global batch. ``per_anchor`` therefore takes the
gathered global tensors (``all_anchors``, ``all_positives``) and the position ``offset`` of the
local slice in them (see :mod:`tfclica.training.replicas`); the negatives always come from the
global batch, so N replicas compute exactly the one-device loss.
"""

from __future__ import annotations

import keras

from tfclica.config.vocabulary import NEGATIVES
from tfclica.errors import ConfigError
from tfclica.losses.functional import align_uniform, cosine_infonce, lp_infonce, ntxent


class _InfoNCELoss(keras.losses.Loss):
    """Base: ``call`` is the per-anchor loss on one batch; ``per_anchor`` the replica form."""

    #: True when the loss needs the gathered positives too (NT-Xent), not only the anchors.
    needs_all_positives = False

    def __init__(self, tau: float, name: str, **kwargs):
        super().__init__(name=name, **kwargs)
        self.tau = float(tau)

    def call(self, anchors, positives):
        return self.per_anchor(anchors, positives)

    def per_anchor(self, anchors, positives, all_anchors=None, all_positives=None, offset=0):
        """Per-anchor losses of a local slice against the negatives of the global batch.

        Args:
            anchors, positives: ``[batch, n]`` local slice.
            all_anchors, all_positives: ``[N, n]`` global batch (default: the local slice).
            offset: row of ``anchors[0]`` in ``all_anchors``.
        """
        raise NotImplementedError

    def get_config(self):
        return {**super().get_config(), "tau": self.tau}


@keras.saving.register_keras_serializable(package="tfclica")
class CosineInfoNCE(_InfoNCELoss):
    """Dot-product InfoNCE; see :func:`cosine_infonce`.

    Args:
        tau: temperature (matched to a vMF conditional when ``tau = 1/kappa``).
        alpha: weight of the positive term (the reference's default 1/2).
    """

    def __init__(self, tau: float = 1.0, alpha: float = 0.5, name="cosine_infonce", **kwargs):
        super().__init__(tau, name=name, **kwargs)
        self.alpha = float(alpha)

    def per_anchor(self, anchors, positives, all_anchors=None, all_positives=None, offset=0):
        return cosine_infonce(anchors, positives, self.tau, all_anchors, self.alpha)

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha}


class _DistanceLoss(_InfoNCELoss):
    """Base of the losses on the Lp distance: an exponent ``p`` and a term weight ``alpha``."""

    def __init__(self, tau: float, p: float, alpha: float, name: str, **kwargs):
        super().__init__(tau, name=name, **kwargs)
        self.p, self.alpha = float(p), float(alpha)

    def get_config(self):
        return {**super().get_config(), "p": self.p, "alpha": self.alpha}


@keras.saving.register_keras_serializable(package="tfclica")
class LpInfoNCE(_DistanceLoss):
    """Lp InfoNCE; see :func:`lp_infonce`.

    Args:
        tau: temperature.
        p: exponent, any real ``p > 0``.
        alpha: weight of the positive term (the reference's default 1/2).
        negatives: ``"anchors"`` (the reference's: the batch's anchors, self included, and the
            positive) or ``"positives"`` (the batch's positives, the anchor's own among them:
            the InfoNCE of CPC, with no self term).
    """

    def __init__(self, tau=1.0, p=2.0, alpha=0.5, negatives="anchors", name="lp_infonce", **kwargs):
        super().__init__(tau, p, alpha, name=name, **kwargs)
        if negatives not in NEGATIVES:
            raise ConfigError(f"negatives={negatives!r} is not one of: {', '.join(NEGATIVES)}")
        self.negatives = negatives
        self.needs_all_positives = negatives == "positives"

    def per_anchor(self, anchors, positives, all_anchors=None, all_positives=None, offset=0):
        if self.negatives == "positives":
            candidates = positives if all_positives is None else all_positives
            return lp_infonce(
                anchors, positives, self.tau, self.p, candidates, self.alpha, own_positive=True
            )
        return lp_infonce(anchors, positives, self.tau, self.p, all_anchors, self.alpha)

    def get_config(self):
        return {**super().get_config(), "negatives": self.negatives}


@keras.saving.register_keras_serializable(package="tfclica")
class NTXent(_InfoNCELoss):
    """Symmetric NT-Xent of SimCLR; see :func:`ntxent`.

    Args:
        tau: temperature.
    """

    needs_all_positives = True

    def __init__(self, tau: float = 1.0, name: str = "ntxent", **kwargs):
        super().__init__(tau, name=name, **kwargs)

    def per_anchor(self, anchors, positives, all_anchors=None, all_positives=None, offset=0):
        return ntxent(anchors, positives, self.tau, all_anchors, all_positives, offset)


@keras.saving.register_keras_serializable(package="tfclica")
class AlignUniform(_DistanceLoss):
    """Alignment + uniformity; see :func:`align_uniform`.

    Args:
        tau: temperature of the uniformity term (1: the reference).
        p: exponent of the distance.
        alpha: weight of the uniformity term (the reference's default 1/2).
    """

    def __init__(self, tau=1.0, p=2.0, alpha=0.5, name="align_uniform", **kwargs):
        super().__init__(tau, p, alpha, name=name, **kwargs)

    def per_anchor(self, anchors, positives, all_anchors=None, all_positives=None, offset=0):
        return align_uniform(anchors, positives, self.tau, self.p, all_anchors, self.alpha)


def build_loss(
    name: str, tau: float = 1.0, p: float = 2.0, negatives: str = "anchors"
) -> _InfoNCELoss:
    """The loss called ``name`` (the ``--loss`` vocabulary: cosine, lp, ntxent, align-uniform);
    ``negatives`` is :class:`LpInfoNCE`'s (the other losses take only ``"anchors"``).

    Raises:
        ConfigError: ``name`` is none of them.
    """
    builders = {
        "cosine": lambda: CosineInfoNCE(tau),
        "lp": lambda: LpInfoNCE(tau, p, negatives=negatives),
        "ntxent": lambda: NTXent(tau),
        "align-uniform": lambda: AlignUniform(tau, p),
    }
    if name not in builders:
        raise ConfigError(f"loss={name!r} is not one of: {', '.join(builders)}")
    return builders[name]()
