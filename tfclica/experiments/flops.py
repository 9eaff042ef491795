"""The matrix products of one unsupervised train step, and the FLOP model built from them.

Used by ``tfclica bench`` twice: the sum of the products' FLOPs is the model's FLOPs per step,
and a graph running just these products (:func:`~tfclica.experiments.bench.gemm_only_seconds`)
times what the step would take if everything but its matmuls (element-wise work, reductions, the
optimizer) were free: how much of the distance to the plain-GEMM peak is the model's shapes.
"""

from __future__ import annotations

from collections import Counter
from functools import partial
from typing import NamedTuple

from tfclica.config.experiment import ExperimentConfig
from tfclica.losses.distance_kernels import lp_block_products, lp_block_rows
from tfclica.losses.similarity_kernels import (
    SIMILARITY_ROWS,
    row_blocks,
    self_similarity_block_products,
)


class Gemm(NamedTuple):
    """``count`` products ``op(a) @ op(b)``, ``op(a)`` of shape ``[m, k]`` and ``op(b)`` ``[k, n]``.

    ``transpose_a`` / ``transpose_b`` say whether the operand is stored transposed, as the step
    passes it to ``tf.matmul``; ``dtype`` is the compute dtype.
    """

    label: str
    count: int
    m: int
    k: int
    n: int
    transpose_a: bool = False
    transpose_b: bool = False
    dtype: str = "float32"

    @property
    def flops(self) -> int:
        """FLOPs of all ``count`` products (multiply-add = 2 FLOPs)."""
        return 2 * self.count * self.m * self.k * self.n


def step_gemms(cfg: ExperimentConfig, similarity_rows: int = SIMILARITY_ROWS) -> list[Gemm]:
    """The matmuls of one unsupervised one-replica step of ``cfg``, as it runs them.

    Both views go through g and f as one batch of ``2 * batch_size`` rows. The mixing g is
    forward only; every encoder layer has its forward, its weight gradient ``x^T dy`` and, but
    for the first layer (x needs no gradient), its input gradient ``dy W^T``, in the compute
    dtype of ``cfg.precision``. The loss runs its kernel's products on each of the kernel's row
    blocks (``row_blocks``), as the kernel module names them: the cosine loss's ``[B, B]``
    similarity matrix in blocks of ``similarity_rows`` anchors
    (:func:`~tfclica.losses.similarity_kernels.self_similarity_block_products`), the Lp losses'
    (``lp``, ``align-uniform``) :func:`~tfclica.losses.distance_kernels.lp_block_products`
    (matmuls for ``p = 2`` only; other ``p`` are element-wise, so count no FLOPs here). NT-Xent
    has no kernel of its own and is counted as the cosine loss.
    """
    batch, n = cfg.batch_size, cfg.dim
    rows = 2 * batch
    dtype = {"mixed_bfloat16": "bfloat16", "mixed_float16": "float16"}.get(cfg.precision, "float32")
    gemms = []
    if cfg.mixing_layers:
        gemms.append(Gemm("mixing g", cfg.mixing_layers, rows, n, n))
    widths = [n, *cfg.hidden_widths, n]
    for i, (fan_in, fan_out) in enumerate(zip(widths[:-1], widths[1:])):
        gemms.append(Gemm(f"layer {i} forward", 1, rows, fan_in, fan_out, dtype=dtype))
        gemms.append(Gemm(f"layer {i} dW", 1, fan_in, rows, fan_out, True, dtype=dtype))
        if i > 0:
            gemms.append(Gemm(f"layer {i} dx", 1, rows, fan_out, fan_in, False, True, dtype))
    if cfg.loss in ("lp", "align-uniform"):
        block_rows = lp_block_rows(cfg.model_p)
        products = partial(lp_block_products, batch=batch, n=n, p=cfg.model_p)
    else:
        block_rows = similarity_rows
        products = partial(self_similarity_block_products, batch=batch, n=n)
    sizes = Counter(size for _, size in row_blocks(batch, block_rows))
    for size, count in sizes.items():  # blocks of one size: one Gemm row per product
        for label, *shape in products(size):
            gemms.append(Gemm(f"{label} {size}-row block", count, *shape))
    return gemms


def model_flops_per_step(cfg: ExperimentConfig) -> float:
    """FLOPs of one unsupervised train step: the sum over :func:`step_gemms` (element-wise
    work ignored)."""
    return float(sum(g.flops for g in step_gemms(cfg)))
