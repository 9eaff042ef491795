"""The Lp distance of the reference's ``LpSimCLRLoss``: ``sum_k |u_k - v_k|^p``, no root."""

from __future__ import annotations

import tensorflow as tf

# |d|^p for p < 1 is replaced by EPS^p (d/EPS)^2 on |d| < EPS: finite gradients at d = 0 (the
# anchor's distance to itself) and the exact value everywhere else; the error is below EPS^p.
EPS = 1e-6


def lp_distance(a, b, p: float):
    """``sum_k |a_k - b_k|^p`` (no root, as the reference) over the last axis, broadcasting.

    For ``p < 1`` the gradient of ``|d|^p`` is infinite at ``d = 0``; there a quadratic guard on
    ``|d| < EPS`` keeps values and gradients finite (value 0 at ``d = 0``).
    """
    diff = a - b
    if p >= 1.0:
        return tf.reduce_sum(tf.pow(tf.abs(diff), p), axis=-1)
    small = tf.abs(diff) < EPS
    safe = tf.where(small, tf.ones_like(diff), tf.abs(diff))  # no inf in the unused branch
    value = tf.where(small, EPS**p * tf.square(diff / EPS), tf.pow(safe, p))
    return tf.reduce_sum(value, axis=-1)


def pairwise_lp(a, m, p: float):
    """``[batch, m]`` distances between rows of ``a`` and rows of ``m`` (one broadcast tensor)."""
    return lp_distance(a[:, None, :], m[None, :, :], p)
