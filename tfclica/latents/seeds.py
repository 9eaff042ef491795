"""Stateless seeds and draws that give the same numbers eagerly and under XLA.

TensorFlow's stateless random ops do not: XLA's Philox kernel and the CPU kernel produce different
streams for the same key and counter, even with ``alg="philox"``. So the package draws its own
bits with Threefry-2x32 (Salmon et al. 2011, the generator JAX uses) built from uint32 add, xor
and shifts, which every backend computes bit for bit alike. Element ``i`` of a draw is the hash of
``(key=seed, counter=i)``: integer bits are identical eagerly and under XLA, and the float
transforms on top (log, sqrt, cos) differ by at most a few ulps.
"""

from __future__ import annotations

import math

import numpy as np
import tensorflow as tf

# Threefry-2x32 with the Random123 default of 20 rounds and its rotation schedule.
_ROUNDS = 20
_ROTATIONS = (13, 15, 26, 6, 17, 29, 16, 24)
_PARITY = 0x1BD11BDA
# Folded keys xor this into their second word, so a derived seed is never a data-stream output.
_FOLD_TAG = 0x9E3779B9


def as_seed(seed) -> tf.Tensor:
    """A stateless seed: an int pair (or a Python int ``s``, read as ``(s, 0)``) as int32 [2]."""
    if isinstance(seed, (int, np.integer)):
        seed = (int(seed), 0)
    if isinstance(seed, (tuple, list)):
        # Python ints beyond int32 wrap like uint32 bit patterns instead of overflowing.
        seed = np.asarray([int(s) & 0xFFFFFFFF for s in seed], np.uint32).view(np.int32)
    return tf.cast(tf.convert_to_tensor(seed), tf.int32)


def _u32(x) -> tf.Tensor:
    return tf.constant(x & 0xFFFFFFFF, tf.uint32)


def _rotl(x, r: int):
    return tf.bitwise.bitwise_or(
        tf.bitwise.left_shift(x, _u32(r)), tf.bitwise.right_shift(x, _u32(32 - r))
    )


def threefry2x32(key, c0, c1):
    """Threefry-2x32-20 of counters ``(c0, c1)`` (uint32, same shape) under ``key`` (uint32 [2]).

    Returns:
        Two uint32 tensors of the counters' shape: 64 random bits per counter.
    """
    k0, k1 = key[0], key[1]
    ks = (k0, k1, tf.bitwise.bitwise_xor(tf.bitwise.bitwise_xor(k0, k1), _u32(_PARITY)))
    x0, x1 = c0 + ks[0], c1 + ks[1]
    for i in range(_ROUNDS):
        x0 = x0 + x1
        x1 = tf.bitwise.bitwise_xor(_rotl(x1, _ROTATIONS[i % 8]), x0)
        if i % 4 == 3:  # key injection every 4 rounds
            s = i // 4 + 1
            x0 = x0 + ks[s % 3]
            x1 = x1 + ks[(s + 1) % 3] + _u32(s)
    return x0, x1


def _key(seed) -> tf.Tensor:
    return tf.bitcast(as_seed(seed), tf.uint32)


def fold(seed, value) -> tf.Tensor:
    """A new seed derived from ``seed`` and an integer (e.g. the step; int32 or int64)."""
    key = _key(seed)
    key = tf.stack([key[0], tf.bitwise.bitwise_xor(key[1], _u32(_FOLD_TAG))])
    value = tf.cast(value, tf.int64)
    lo = tf.cast(tf.bitwise.bitwise_and(value, 0xFFFFFFFF), tf.uint32)
    hi = tf.cast(tf.bitwise.bitwise_and(tf.bitwise.right_shift(value, 32), 0xFFFFFFFF), tf.uint32)
    x0, x1 = threefry2x32(key, lo, hi)
    return materialize(tf.bitcast(tf.stack([x0, x1]), tf.int32))


def materialize(x):
    """``x`` unchanged, but computed once under XLA.

    XLA's CPU fusion copies a cheap-looking producer into every consumer, so a value with
    several consumers (a folded key, a draw that is both normalised and summed) is recomputed
    per use; for a folded key that made every later draw 5x slower. A reduction over a stacked
    zero is a fusion boundary the simplifier keeps.
    """
    return tf.reduce_sum(tf.stack([x, tf.zeros_like(x)]), axis=0)


def split(seed, n: int = 2) -> list[tf.Tensor]:
    """``n`` independent seeds derived from ``seed``."""
    return [fold(seed, 1_000_003 + i) for i in range(n)]


def _bits(num, seed):
    """``2 * ceil(num / 2)`` random uint32 words as two halves ``(w0, w1)`` of ``ceil(num/2)``."""
    half = (tf.cast(num, tf.int32) + 1) // 2
    counters = tf.range(half, dtype=tf.int32)
    counters = tf.bitcast(counters, tf.uint32)
    return threefry2x32(_key(seed), counters, tf.zeros_like(counters))


_BELOW_ONE = float(np.nextafter(np.float32(1.0), np.float32(0.0)))  # 1 - 2^-24
_BELOW_ONE_F64 = float(np.nextafter(1.0, 0.0))  # 1 - 2^-53


def _unit_interval(w0, w1, dtype):
    """Uniforms in the open interval (0, 1): top mantissa bits plus half an ulp (never 0 or 1)."""
    if dtype == tf.float64:
        hi = tf.cast(tf.bitwise.right_shift(w0, _u32(6)), tf.float64)  # 26 bits
        lo = tf.cast(tf.bitwise.right_shift(w1, _u32(5)), tf.float64)  # 27 bits
        u = (hi * 2.0**27 + lo + 0.5) * 2.0**-53  # (2^53 - 0.5) rounds to 2^53: cap below 1
        return tf.minimum(u, _BELOW_ONE_F64), None
    w0 = tf.cast(tf.bitwise.right_shift(w0, _u32(8)), tf.float32)
    w1 = tf.cast(tf.bitwise.right_shift(w1, _u32(8)), tf.float32)
    # (2^24 - 1 + 0.5) * 2^-24 rounds to exactly 1.0 in float32 (once in 2^24 draws; 1 - u = 0
    # then made an untruncated Laplace draw infinite): cap at the largest float32 below 1. Every
    # other draw is unchanged.
    u0 = tf.minimum((w0 + 0.5) * 2.0**-24, _BELOW_ONE)
    u1 = tf.minimum((w1 + 0.5) * 2.0**-24, _BELOW_ONE)
    return tf.cast(u0, dtype), tf.cast(u1, dtype)


def _num_elements(shape) -> tf.Tensor:
    return tf.reduce_prod(tf.cast(tf.convert_to_tensor(shape, tf.int32), tf.int32))


def uniform(shape, seed, dtype=tf.float32, minval=0.0, maxval=1.0) -> tf.Tensor:
    """Uniform draws in ``(minval, maxval)`` of a static ``shape``; a pure function of ``seed``."""
    dtype = tf.as_dtype(dtype)
    num = _num_elements(shape)
    w0, w1 = _bits(num, seed)
    if dtype == tf.float64:
        w0b, w1b = _bits(num, fold(seed, 0x5EED))
        u = tf.concat([_unit_interval(w0, w1, dtype)[0], _unit_interval(w0b, w1b, dtype)[0]], 0)
    else:
        u = tf.concat(_unit_interval(w0, w1, dtype), 0)
    u = tf.reshape(u[:num], shape)
    if minval == 0.0 and maxval == 1.0:
        return u
    return minval + (maxval - minval) * u


def normal(shape, seed, dtype=tf.float32) -> tf.Tensor:
    """Standard normal draws of a static ``shape`` (Box-Muller on two uniforms per pair)."""
    dtype = tf.as_dtype(dtype)
    num = _num_elements(shape)
    w0, w1 = _bits(num, seed)
    u0, u1 = _unit_interval(w0, w1, tf.float32)
    if dtype == tf.float64:
        u0 = _unit_interval(w0, w1, dtype)[0]
        u1 = _unit_interval(*_bits(num, fold(seed, 0x5EED)), dtype)[0]
    radius = tf.sqrt(-2.0 * tf.math.log(u0))
    angle = (2.0 * math.pi) * u1
    z = tf.concat([radius * tf.cos(angle), radius * tf.sin(angle)], 0)
    return tf.cast(tf.reshape(z[:num], shape), dtype)
