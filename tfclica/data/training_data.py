"""The training-data seam: everything a run needs from its data, behind one interface.

A :class:`TrainingData` gives the train step its batches (drawn on the device, sharded by
replica), evaluation its fit and held-out sets with their true factors, the output init its
observations, and the run's record what the data was. Two implementations:

- :class:`SyntheticData`: latent pairs from the pair sampler, observed by the run's frozen
  observation source (the MLP mixing g or the renderer), saved in the run directory's
  ``mixing/``;
- :class:`FolderData`: nearest-neighbour pairs of an image folder (``cfg.dataset``; the
  published 3DIdent layout), which has no g.

:func:`open_training_data` is the one place that asks which a config describes; the run, the
train step and the evaluation only use the interface.
"""

from __future__ import annotations

import abc
import hashlib
from pathlib import Path

import numpy as np
import tensorflow as tf

from tfclica.errors import ConfigError
from tfclica.latents import PairSampler, build_pair_sampler, seeds

# metrics.json "identity_note" of a run on an image folder ("identity" is null there).
FOLDER_IDENTITY_NOTE = (
    "no identity baseline: the images come from a folder, not from a generator g whose output "
    "could be scored; below_identity* are null"
)


class TrainingData(abc.ABC):
    """A run's data.

    Attributes:
        sampler: the latent pair sampler of the run's setting.
        observation_shape: the shape of one observation (the encoder's input).
        factor_names: a name per latent factor where the factors are named (images), else
            ``None``.
        identity_note: ``None`` where g's own output can be scored as the identity baseline,
            else why it cannot.
        compilable: whether :meth:`draw` may be compiled by XLA (a ``tf.data`` pipeline cannot).
    """

    sampler: PairSampler
    identity_note: str | None = None
    compilable: bool = True

    @property
    @abc.abstractmethod
    def observation_shape(self) -> tuple[int, ...]: ...

    @property
    def factor_names(self) -> tuple[str, ...] | None:
        return None

    def check_shards(self, replicas: int, shards: int) -> None:
        """:class:`ConfigError` if the data cannot feed ``shards`` shards over ``replicas``."""
        del replicas, shards  # any: each shard is drawn from a seed of its own

    def start(self, step: int) -> None:
        """Position the batches at ``step`` (a resumed run trains on the same batches)."""
        del step  # stateless: every step's batch comes from the step's own seed

    @abc.abstractmethod
    def draw(self, step_seed, shard_size: int, shard_indices) -> tuple:
        """This replica's part of a step's batch, inside the compiled step: a tuple whose
        first two entries are the latents ``z`` and ``z~``.

        Args:
            step_seed: the step's seed (``fold(rng_seed, step)``).
            shard_size: pairs per shard.
            shard_indices: the global indices of this replica's shards.
        """

    @abc.abstractmethod
    def observe(self, batch: tuple, pairs: bool):
        """The encoder's input for ``batch``: both views stacked (``[x; x~]``) when ``pairs``,
        else ``x`` alone."""

    @abc.abstractmethod
    def evaluation_sets(self, num: int, seed) -> tuple[np.ndarray, ...]:
        """``(z_fit, x_fit, z_test, x_test)``: ``num`` fit and ``num`` held-out samples."""

    def fit_set(self, num: int, seed) -> tuple[np.ndarray, np.ndarray]:
        """``(z_fit, x_fit)``: the fit half of :meth:`evaluation_sets` with the same arguments."""
        return self.evaluation_sets(num, seed)[:2]

    @abc.abstractmethod
    def init_observations(self, num: int, seed) -> np.ndarray:
        """``num`` observations for the output init (``seed``: a stateless seed tensor)."""

    @abc.abstractmethod
    def record(self) -> dict:
        """metrics.json's ``data``: what the data was, with a checksum."""


class SyntheticData(TrainingData):
    """Pairs from the sampler, observed by ``source`` (the mixing g or the renderer)."""

    def __init__(self, sampler: PairSampler, source):
        self.sampler, self.source = sampler, source

    @property
    def observation_shape(self) -> tuple[int, ...]:
        return tuple(self.source.observation_shape)

    @property
    def factor_names(self) -> tuple[str, ...] | None:
        return getattr(self.source, "factor_names", None)

    def draw(self, step_seed, shard_size, shard_indices):
        draws = [
            self.sampler.sample_pairs(shard_size, seeds.fold(step_seed, j)) for j in shard_indices
        ]
        return tf.concat([d[0] for d in draws], 0), tf.concat([d[1] for d in draws], 0)

    def observe(self, batch, pairs):
        z, z_tilde = batch[:2]
        # Both views in one pass: a single large op per layer of g.
        return self.source(tf.concat([z, z_tilde], axis=0)) if pairs else self.source(z)

    def evaluation_sets(self, num, seed):
        z_fit, x_fit = self.sample(num, seed)
        z_test, x_test = self.sample(num, seeds.fold(seed, 1))
        return z_fit, x_fit, z_test, x_test

    def fit_set(self, num, seed):
        return self.sample(num, seed)  # the held-out half is never drawn

    def sample(self, num: int, seed) -> tuple[np.ndarray, np.ndarray]:
        """``num`` latents from the marginal and their observations, as NumPy ``(z, x)``."""
        z = self.sampler.sample_marginal(num, seeds.as_seed(seed))
        return z.numpy(), self.source(z).numpy()

    def init_observations(self, num, seed):
        return self.source(self.sampler.sample_marginal(num, seed)).numpy()

    def record(self):
        return {"kind": "synthetic", "generator": self.source.spec()["kind"],
                "sha256": self.source.checksum()}  # fmt: skip


class FolderData(TrainingData):
    """The pairs of an image folder (:class:`~tfclica.data.loader.FolderPairs`): one device,
    whole batches, a ``tf.data`` pipeline keyed by the step."""

    identity_note = FOLDER_IDENTITY_NOTE
    compilable = False

    def __init__(self, pairs, folder, image_size: int):
        self.pairs, self.folder, self.sampler = pairs, folder, pairs.sampler
        self.image_size = int(image_size)
        self._batches = None

    @property
    def observation_shape(self) -> tuple[int, ...]:
        return (self.image_size, self.image_size, 3)

    @property
    def factor_names(self) -> tuple[str, ...]:
        from tfclica.data.dataset import factor_names

        n = self.folder.latents.shape[1]
        return factor_names(self.folder) or tuple(f"z{i}" for i in range(n))

    def check_shards(self, replicas, shards):
        if replicas != 1 or shards != 1:
            raise ConfigError(
                f"dataset={str(self.folder.root)!r} trains on one device with whole batches: "
                f"got {replicas} replicas and data_shards={shards}"
            )

    def start(self, step):
        self._batches = iter(self.pairs.dataset(int(step)))

    def draw(self, step_seed, shard_size, shard_indices):
        if self._batches is None:
            raise RuntimeError("FolderData.start(step) must be called before draw")
        return next(self._batches)  # (z, z~, x, x~): the folder's next batch

    def observe(self, batch, pairs):
        _, _, x, x_tilde = batch
        return tf.concat([x, x_tilde], axis=0) if pairs else x

    def evaluation_sets(self, num, seed):
        """One draw of ``2 * num`` distinct images split in halves: the fit and held-out sets
        never share an image.

        Raises:
            ConfigError: the folder has fewer than ``2 * num`` images.
        """
        z, x = self.pairs.sample_images(2 * num, seed)
        if len(z) < 2 * num:
            raise ConfigError(
                f"{num} fit and {num} held-out images need {2 * num} images, the folder has "
                f"{len(z)}"
            )
        return z[:num], x[:num], z[num:], x[num:]

    def init_observations(self, num, seed):
        return self.pairs.sample_images(num, seed)[1]  # as many as it has, up to num

    def record(self):
        root = Path(self.folder.root)
        names = "\n".join(str(Path(p).relative_to(root)) for p in self.folder.paths)
        return {
            "kind": "folder",
            "path": str(self.folder.root),
            "num_images": int(self.folder.num_images),
            "latents_sha256": latents_sha256(self.folder.latents),
            "images_sha256": hashlib.sha256(names.encode()).hexdigest(),
        }


def latents_sha256(latents) -> str:
    """SHA-256 of a folder's latents as float32."""
    return hashlib.sha256(np.ascontiguousarray(latents, np.float32).tobytes()).hexdigest()


def check_training_data(cfg) -> None:
    """Refuse, before anything is written, data that ``cfg`` names but cannot have: an image
    folder that is missing or does not fit the setting (:func:`~tfclica.data.dataset.open_dataset`).

    Raises:
        ConfigError: as ``open_dataset``.
    """
    if cfg.dataset:
        from tfclica.data.dataset import open_dataset

        open_dataset(cfg)


def open_training_data(cfg, run_dir) -> TrainingData:
    """The data ``cfg`` describes for the run in ``run_dir`` (a
    :class:`~tfclica.rundir.RunDirectory`): the folder ``cfg.dataset`` (checked, nothing
    written), or the run's frozen observation source (loaded from the run directory, else built
    and saved there, after the config, so a directory with a source always has one).

    Raises:
        ConfigError: the folder is missing or does not fit the setting, or the saved source is
            not the one ``cfg`` describes.
    """
    from tfclica.data.sources import build_observation_source, check_observation_source

    if cfg.dataset:
        from tfclica.data.dataset import folder_pairs, open_dataset

        folder = open_dataset(cfg)
        pairs = folder_pairs(cfg, build_pair_sampler(cfg), folder)
        return FolderData(pairs, folder, cfg.image_size)
    if run_dir.has_observations():
        source = run_dir.load_observations()
        check_observation_source(cfg, source, run_dir.path)
    else:
        run_dir.save_config(cfg)  # config first: never mistaken for an empty directory
        source = build_observation_source(cfg)
        run_dir.save_observations(source)
    return SyntheticData(build_pair_sampler(cfg), source)
