"""Positive pairs from a 3DIdent-layout folder, as the reference builds them, in ``tf.data``.

For each pair: draw ``z`` from the marginal and ``z~`` from the conditional around it; take the
image whose latents are nearest to ``z`` and the image nearest to ``z~`` other than that one
(never the same image twice). Nearest neighbours are exact: a float32 matrix product ranks the
folder's latents, and the :data:`CANDIDATES` best are re-ranked by their distances computed
directly (no cancellation). The batch of step ``s`` is a pure function of ``(seed, s)`` (stream
``Stream.TRAIN``, as the train step's batches), so a pipeline started at a later step replays
the same batches. PNGs are read and decoded in parallel, normalised per channel with the
folder's statistics, and prefetched.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import tensorflow as tf

from tfclica.data.image_folder import ImageFolder, read_folder
from tfclica.errors import ConfigError
from tfclica.latents import PairSampler, seeds
from tfclica.streams import Stream, seed_of

CANDIDATES = 4  # neighbours re-ranked exactly (ties within float32 error of the 4th: none seen)
_DISTANCE_BLOCK = 1 << 24  # query x database entries per matrix product (64 MiB of float32)


class NearestLatents:
    """Exact nearest neighbours among a fixed set of latents (``[N, n]``)."""

    def __init__(self, latents: np.ndarray):
        self.latents = tf.constant(np.asarray(latents, np.float32))
        self.sq_norms = tf.reduce_sum(tf.square(self.latents), axis=1)
        self.size = int(self.latents.shape[0])
        if self.size < 2:
            raise ConfigError(f"positive pairs need at least 2 images, the folder has {self.size}")

    def _candidates(self, queries):
        """Indices ``[batch, k]`` of the ``k`` nearest by ``|q|^2 - 2 q.l + |l|^2``, blockwise."""
        k = min(CANDIDATES, self.size)
        rows = max(1, _DISTANCE_BLOCK // self.size)
        parts = []
        for start in range(0, int(queries.shape[0]), rows):  # static: the batch size is fixed
            q = queries[start : start + rows]
            scores = 2.0 * tf.matmul(q, self.latents, transpose_b=True) - self.sq_norms
            parts.append(tf.math.top_k(scores, k=k, sorted=True).indices)
        return tf.concat(parts, axis=0)

    def __call__(self, queries, exclude=None):
        """Index of the nearest latent of each query (``[batch]`` int32); with ``exclude``
        (``[batch]`` indices), the nearest other than ``exclude[i]``."""
        queries = tf.convert_to_tensor(queries, tf.float32)
        candidates = self._candidates(queries)
        exact = tf.reduce_sum(
            tf.square(tf.gather(self.latents, candidates) - queries[:, None, :]), axis=-1
        )
        if exclude is not None:
            same = tf.equal(candidates, tf.cast(exclude, candidates.dtype)[:, None])
            exact = tf.where(same, tf.constant(np.inf, exact.dtype), exact)
        best = tf.argmin(exact, axis=1, output_type=tf.int32)
        return tf.gather(candidates, best, batch_dims=1)


class FolderPairs:
    """Batches of positive pairs ``(z, z~, x, x~)`` from a 3DIdent-layout folder.

    ``z`` and ``z~`` are the latents of the two images (float32 ``[batch, n]``); ``x`` and
    ``x~`` float32 ``[batch, H, W, 3]``, ``(pixel / 255 - mean) / std`` per channel.

    Args:
        folder: the folder (a path or a :class:`~tfclica.data.image_folder.ImageFolder`).
        sampler: draws the latent pairs the images are matched to (its dimension must be the
            folder's).
        batch_size: pairs per batch.
        seed: seed of the pairs (the batches of step ``s`` use ``fold((seed, TRAIN), s)``).
        image_size: resize the images to this size (area interpolation); default: as stored.
    """

    def __init__(
        self,
        folder,
        sampler: PairSampler,
        batch_size: int,
        seed: int = 0,
        image_size: int | None = None,
    ):
        self.folder = folder if isinstance(folder, ImageFolder) else read_folder(Path(folder))
        n = self.folder.latents.shape[1]
        if sampler.dim != n:
            raise ConfigError(
                f"{self.folder.root}: its latents have {n} dimensions, the setting has dim="
                f"{sampler.dim}"
            )
        self.sampler, self.batch_size, self.image_size = sampler, int(batch_size), image_size
        self.base_seed = seeds.as_seed(seed_of(seed, Stream.TRAIN))
        self.nearest = NearestLatents(self.folder.latents)
        self.paths = tf.constant(self.folder.paths)
        self.mean = tf.constant(self.folder.channel_mean, tf.float32)
        self.std = tf.constant(self.folder.channel_std, tf.float32)

    def pair_indices(self, step):
        """The image indices ``(i, j)``, each ``[batch]``, of the pairs of ``step``."""
        z, z_tilde = self.sampler.sample_pairs(self.batch_size, seeds.fold(self.base_seed, step))
        i = self.nearest(z)
        return i, self.nearest(z_tilde, exclude=i)

    def load_image(self, index):
        """Image ``index`` decoded (uint8 RGB), resized if asked, as float32 in [0, 1]."""
        image = tf.io.decode_png(tf.io.read_file(self.paths[index]), channels=3)
        image = tf.image.convert_image_dtype(image, tf.float32)
        if self.image_size is not None:
            image = tf.image.resize(image, [self.image_size] * 2, method="area")
        return image

    def normalise(self, images):
        """Per-channel ``(x - mean) / std`` with the folder's statistics."""
        return (images - self.mean) / self.std

    def dataset(self, start_step: int = 0) -> tf.data.Dataset:
        """The batches of steps ``start_step, start_step + 1, ...`` (endless), prefetched."""
        latents = tf.constant(self.folder.latents)
        auto = tf.data.AUTOTUNE

        def load_pair(i, j):
            return i, j, self.load_image(i), self.load_image(j)

        def finish(i, j, x, x_tilde):
            z, z_tilde = tf.gather(latents, i), tf.gather(latents, j)
            return z, z_tilde, self.normalise(x), self.normalise(x_tilde)

        steps = tf.data.Dataset.range(start_step, np.iinfo(np.int64).max)
        pairs = steps.map(self.pair_indices, num_parallel_calls=auto).unbatch()
        images = pairs.map(load_pair, num_parallel_calls=auto, deterministic=True)
        batches = images.batch(self.batch_size, drop_remainder=True)
        return batches.map(finish, num_parallel_calls=auto).prefetch(auto)

    def sample_images(self, num: int, seed) -> tuple[np.ndarray, np.ndarray]:
        """``num`` distinct images drawn uniformly (for evaluation) and their latents, as
        NumPy ``(z, x)`` with ``x`` normalised."""
        num = min(int(num), self.folder.num_images)
        keys = seeds.uniform([self.folder.num_images], seeds.as_seed(seed))
        chosen = tf.argsort(keys)[:num]
        images = tf.data.Dataset.from_tensor_slices(chosen).map(
            self.load_image, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True
        )
        x = np.concatenate([b.numpy() for b in images.batch(1024)])
        return self.folder.latents[chosen.numpy()], self.normalise(x).numpy()
