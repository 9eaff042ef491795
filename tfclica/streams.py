"""The random streams of a run: the second word of every stateless seed ``(cfg.seed, stream)``.

Each consumer of randomness draws from its own stream, so adding one never shifts another's
numbers (and a resumed or re-evaluated run draws exactly what it drew before). Streams are
further folded with a step or chunk index (``tfclica.latents.seeds.fold``). The mixing g and the
encoder's initial weights are seeded by ``cfg.seed`` alone (NumPy / Keras initialisers).
"""

from __future__ import annotations

import enum


class Stream(enum.IntEnum):
    """Second seed word of each consumer (values are part of every stored result: never change
    one, add new ones at the end)."""

    TRAIN = 0  # training batches: fold(fold((seed, TRAIN), step), shard)
    TRAIN_EVAL = 1  # evaluations during training: fold((seed, TRAIN_EVAL), step)
    FINAL_EVAL = 2  # the run's final scores (fit set; held-out set: fold(.., 1))
    SAMPLE = 2  # `tfclica sample` (shares FINAL_EVAL's draws: it shows what was scored)
    EXPORT_EVAL = 3  # `tfclica evaluate --model` on an export
    PARITY = 4  # the export's parity check samples
    REFERENCE_IO = 5  # the export's reference_io.npz
    RENDER = 6  # `tfclica render`: the latents of a rendered image folder
    OUTPUT_INIT = 7  # the observations that standardise the output layer (output_init)
    KERAS_EVAL = 8  # pairs_dataset(split="eval"): fresh pairs, batch s from fold((seed, 8), s)


def seed_of(seed: int, stream: Stream) -> tuple[int, int]:
    """The stateless seed pair ``(seed, stream)``."""
    return (int(seed), int(stream))
