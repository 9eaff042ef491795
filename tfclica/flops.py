"""The matrix products of one unsupervised train step, and the FLOP model built from them.

Used by ``tfclica bench`` twice: the sum of the products' FLOPs is the model's FLOPs per step,
and timing each product alone at its own shape gives the step's GEMM floor, the time the step
would take if everything but its matmuls (element-wise work, reductions, the optimizer) were
free. The floor tells how much of the distance to the plain-GEMM peak is the model's shapes.
"""

from __future__ import annotations

from typing import NamedTuple

from tfclica.config import ExperimentConfig
from tfclica.encoders import EQUAL_NORM_HEADS
from tfclica.losses import SIMILARITY_ROWS


class Gemm(NamedTuple):
    """``count`` products ``op(a) @ op(b)``, ``op(a)`` of shape ``[m, k]`` and ``op(b)`` ``[k, n]``.

    ``transpose_a`` / ``transpose_b`` say whether the operand is stored transposed, as the step
    passes it to ``tf.matmul``.
    """

    label: str
    count: int
    m: int
    k: int
    n: int
    transpose_a: bool = False
    transpose_b: bool = False

    @property
    def flops(self) -> int:
        """FLOPs of all ``count`` products (multiply-add = 2 FLOPs)."""
        return 2 * self.count * self.m * self.k * self.n


def step_gemms(cfg: ExperimentConfig, similarity_rows: int = SIMILARITY_ROWS) -> list[Gemm]:
    """The matmuls of one unsupervised step of ``cfg`` with the cosine loss, as it runs them.

    Both views go through g and f as one batch of ``2 * batch_size`` rows. The mixing g is
    forward only; every encoder layer has its forward, its weight gradient ``x^T dy`` and, but
    for the first layer (x needs no gradient), its input gradient ``dy W^T``. The loss's
    ``[B, B]`` similarity matrix is computed in blocks of ``similarity_rows`` anchors
    (:func:`tfclica.losses.blocked_similarity_logsumexp`): per block a forward product and the
    two products of its gradient, or, behind a sphere head, one product of ``2n`` columns
    (:func:`tfclica.losses.self_similarity_logsumexp`). Both count ``6 B^2 n`` FLOPs.
    """
    batch, n = cfg.batch_size, cfg.dim
    rows = 2 * batch
    gemms = []
    if cfg.mixing_layers:
        gemms.append(Gemm("mixing g", cfg.mixing_layers, rows, n, n))
    widths = [n, *cfg.hidden_widths, n]
    for i, (fan_in, fan_out) in enumerate(zip(widths[:-1], widths[1:])):
        gemms.append(Gemm(f"layer {i} forward", 1, rows, fan_in, fan_out))
        gemms.append(Gemm(f"layer {i} dW", 1, fan_in, rows, fan_out, transpose_a=True))
        if i > 0:
            gemms.append(Gemm(f"layer {i} dx", 1, rows, fan_out, fan_in, transpose_b=True))
    full, rest = divmod(batch, similarity_rows) if batch > similarity_rows else (1, 0)
    block = similarity_rows if batch > similarity_rows else batch
    symmetric = cfg.head in EQUAL_NORM_HEADS
    for count, r in ((full, block), (1, rest)):
        if not (count and r):
            continue
        gemms.append(Gemm(f"similarity {r}-row block", count, r, n, batch, transpose_b=True))
        if symmetric:
            gemms.append(Gemm(f"d anchors+negatives {r}-row block", count, r, batch, 2 * n))
        else:
            gemms.append(Gemm(f"d anchors {r}-row block", count, r, batch, n))
            gemms.append(Gemm(f"d negatives {r}-row block", count, batch, r, n, transpose_a=True))
    return gemms


def model_flops_per_step(cfg: ExperimentConfig) -> float:
    """FLOPs of one unsupervised train step: the sum over :func:`step_gemms` (element-wise
    work ignored)."""
    return float(sum(g.flops for g in step_gemms(cfg)))
