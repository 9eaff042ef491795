"""The InfoNCE family of contrastive losses, as Keras-serializable losses.

Convention: ``loss(anchors, positives)`` with ``anchors = f(g(z))`` and ``positives = f(g(z~))``,
both ``[batch, n]``; the result is one value per anchor. As in the reference, the negatives of
anchor i are all anchors of the batch (i itself included) plus its own positive.
"""

from __future__ import annotations

import keras
import tensorflow as tf


def cosine_infonce(anchors, positives, tau: float = 1.0, negatives=None):
    """Per-anchor dot-product InfoNCE (the reference's ``SimCLRLoss`` with alpha = 1/2).

    ``l_i = -<a_i, p_i>/tau + logsumexp({<a_i, m_j>/tau}_j  U  {<a_i, p_i>/tau})`` where the
    ``m_j`` are ``negatives`` (default: all anchors, self included).

    Args:
        anchors: ``[batch, n]`` encodings of z.
        positives: ``[batch, n]`` encodings of z~.
        tau: temperature.
        negatives: ``[m, n]`` encodings used as negatives (default ``anchors``).

    Returns:
        ``[batch]`` per-anchor losses.
    """
    negatives = anchors if negatives is None else negatives
    pos = tf.reduce_sum(anchors * positives, axis=-1) / tau
    neg = tf.matmul(anchors, negatives, transpose_b=True) / tau
    logits = tf.concat([neg, pos[:, None]], axis=1)
    return tf.reduce_logsumexp(logits, axis=1) - pos


@keras.saving.register_keras_serializable(package="tfclica")
class CosineInfoNCE(keras.losses.Loss):
    """Dot-product InfoNCE; see :func:`cosine_infonce`.

    Args:
        tau: temperature (matched to a vMF conditional when ``tau = 1/kappa``).
    """

    def __init__(self, tau: float = 1.0, name: str = "cosine_infonce", **kwargs):
        super().__init__(name=name, **kwargs)
        self.tau = float(tau)

    def call(self, anchors, positives):
        return cosine_infonce(anchors, positives, self.tau)

    def get_config(self):
        return {**super().get_config(), "tau": self.tau}


def build_loss(name: str, tau: float = 1.0, p: float = 2.0) -> keras.losses.Loss:
    """The loss called ``name`` (the ``--loss`` vocabulary)."""
    if name == "cosine":
        return CosineInfoNCE(tau)
    raise ValueError(f"loss={name!r} is not implemented yet")
