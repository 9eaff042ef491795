"""What a train step minimises: a contrastive loss on pairs, or the supervised baseline."""

from __future__ import annotations

import abc

import tensorflow as tf


class Objective(abc.ABC):
    """A per-anchor training loss.

    Attributes:
        name: ``unsupervised`` or ``supervised`` (the metrics.json ``objective``).
        uses_pairs: the loss looks at the second view ``z~`` (else only ``z`` is observed).
        uses_negatives: the loss needs every replica's anchors (a cross-replica gather).
        uses_all_positives: ... and every replica's positives.
    """

    name: str
    uses_pairs: bool = True
    uses_negatives: bool = True
    uses_all_positives: bool = False

    @abc.abstractmethod
    def per_anchor(self, z, anchors, positives, all_anchors, all_positives, offset):
        """Loss of each of this replica's anchors, ``[local batch]``.

        Args:
            z: this replica's true latents (the supervised target).
            anchors, positives: this replica's encodings of both views.
            all_anchors, all_positives: the global batch's (the negatives).
            offset: index of this replica's first anchor in the global batch.
        """


class ContrastiveObjective(Objective):
    """An InfoNCE-family loss (:mod:`tfclica.losses`) on the encodings of positive pairs."""

    name = "unsupervised"

    def __init__(self, loss):
        self.loss = loss
        self.uses_all_positives = bool(loss.needs_all_positives)

    def per_anchor(self, z, anchors, positives, all_anchors, all_positives, offset):
        return self.loss.per_anchor(anchors, positives, all_anchors, all_positives, offset)


class SupervisedObjective(Objective):
    """The paper's supervised baseline: MSE regression of the true latents ``z``."""

    name = "supervised"
    uses_pairs = False
    uses_negatives = False

    def per_anchor(self, z, anchors, positives, all_anchors, all_positives, offset):
        return tf.reduce_mean(tf.square(anchors - z), axis=-1)


def build_objective(cfg, name: str) -> Objective:
    """The objective called ``name`` (``unsupervised``: the config's loss; ``supervised``)."""
    from tfclica.losses import build_loss

    if name == "supervised":
        return SupervisedObjective()
    loss = build_loss(cfg.loss, tau=cfg.tau, p=cfg.model_p, negatives=cfg.negatives)
    return ContrastiveObjective(loss)
