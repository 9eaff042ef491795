"""What an export takes from its run's data: the observations for the parity check and
``reference_io.npz``, the alignment's fit set, and what the encoder's input is.

Three kinds of run, one interface (:func:`run_data`):

- the synthetic mixing (:class:`SourceData` of a
  :class:`~tfclica.observations.mixing.Mixing`): ``x = g(z)``, vectors; ``mixing/`` holds g, also as
  graphs (g and g^-1);
- rendered images (:class:`SourceData` of :class:`~tfclica.observations.rendered.RenderedImages`):
  ``x = render(z)``, float32 ``[H, W, 3]`` in [0, 1]; ``mixing/`` holds the renderer's spec (so
  ``tfclica evaluate`` renders the same images), but no graph: the renderer is a ray marcher
  without an inverse;
- an image folder (:class:`FolderData`, ``--dataset``): ``x`` is a folder image normalised per
  channel; there is no g and no ``mixing/``, and the metadata names the folder.

Image observations are rendered or decoded and pass through a conv net once per format, so their
parity check uses :data:`IMAGE_PARITY_SAMPLES` images rather than 10,000.
"""

from __future__ import annotations

import numpy as np

from tfclica.errors import ConfigError
from tfclica.streams import Stream, seed_of

IMAGE_PARITY_SAMPLES = 1024  # rendered (or decoded) images: 10,000 would take minutes on a CPU
IMAGE_REFERENCE_SAMPLES = 32  # reference_io.npz of images: 32 64x64 images are 1.5 MB

SCALING_FORMULA = "x = (pixel / 255 - mean) / std"
PIXELS = "uint8 RGB, [height, width, 3] (channels last)"
LAYOUT = "channels_last: [batch, height, width, 3], RGB"
RENDER_NOTE = (
    "the encoder was trained on what RenderedImages produces: the renderer's float32 images in "
    "[0, 1] (x = render(z)), never quantised; an 8-bit image of them (as tfclica render writes) "
    "fed as pixel / 255 is within 1/510 of them per value"
)
RENDER_GENERATOR_NOTE = (
    "g is the renderer (tfclica.observations.renderer; its spec is in mixing/spec.json, from which "
    "tfclica evaluate renders the same images): a ray marcher with no inverse, not exported as "
    "a graph"
)
FOLDER_GENERATOR_NOTE = (
    "no g: the run trained on an image folder (config.dataset), not on a generator"
)
FOLDER_MIXING_NOTE = (
    "no mixing/: the images come from the folder named in metadata.dataset; tfclica evaluate "
    "scores on that folder"
)


def _scaling(mean, std, note: str, **extra) -> dict:
    """The ``input.scaling`` section: how raw 8-bit pixels become the encoder's input."""
    return {
        "formula": SCALING_FORMULA,
        "pixel": PIXELS,
        "mean": [float(v) for v in mean],
        "std": [float(v) for v in std],
        **extra,
        "note": note,
    }


class SourceData:
    """A run whose observations come from its observation source (the mixing or the renderer).

    Attributes:
        cfg: the run's config.
        source: the observation source (saved into the export's ``mixing/``).
        images: whether the observations are images.
    """

    def __init__(self, cfg, source):
        from tfclica.data.training_data import SyntheticData
        from tfclica.latents import build_pair_sampler

        self.cfg, self.source = cfg, source
        self.data = SyntheticData(build_pair_sampler(cfg), source)
        self.images = len(tuple(source.observation_shape)) == 3

    @property
    def checksum(self) -> str:
        return self.source.checksum()

    @property
    def has_generator(self) -> bool:
        """Whether g and g^-1 are exported as graphs (the MLP mixing only)."""
        from tfclica.observations.mixing import Mixing

        return isinstance(self.source, Mixing)

    @property
    def max_samples(self) -> int | None:
        """At most this many parity samples (``None``: any number)."""
        return None

    @property
    def description(self) -> str:
        """What the parity inputs are, for the metadata."""
        if self.images:
            return "images rendered by mixing/ (RenderedImages) from z drawn from the marginal"
        return "x = g(z) with z drawn from the marginal"

    def observations(self, num: int, stream: Stream):
        """``(z, x)``: ``num`` fresh samples of stream ``stream``, as NumPy arrays."""
        return self.data.sample(num, seed_of(self.cfg.seed, stream))

    def reference(self, num: int) -> dict[str, np.ndarray]:
        """The inputs of ``reference_io.npz``: ``z`` and ``x`` (stream ``REFERENCE_IO``)."""
        z, x = self.observations(num, Stream.REFERENCE_IO)
        return {"x": x, "z": z}

    def fit_alignment(self, model, samples: int):
        """The final evaluation's maps for ``model`` (:func:`~.alignment.fit_alignment`)."""
        from tfclica.export.alignment import fit_alignment

        return fit_alignment(self.cfg, model, self.data, samples)

    def input_metadata(self) -> dict:
        """Keys added to metadata.json's ``input`` (images: the layout and the scaling)."""
        if not self.images:
            return {}
        return {"layout": LAYOUT, "scaling": _scaling((0, 0, 0), (1, 1, 1), RENDER_NOTE)}

    def omitted(self) -> dict[str, str]:
        """``{part of the export: why it is not there}``."""
        return {} if self.has_generator else {"generator": RENDER_GENERATOR_NOTE}

    def metadata(self) -> dict:
        """Top-level metadata.json keys of this kind of run."""
        return {}


class FolderData:
    """A run on an image folder (``cfg.dataset``): its images are the observations.

    Raises:
        ConfigError: the folder is gone or no longer matches the run (as ``tfclica train``
            checks it: :func:`tfclica.data.dataset.open_dataset`).
    """

    source = None
    images = True
    has_generator = False
    checksum = None  # metadata.json's mixing_sha256: there is no g
    description = "distinct images of the folder metadata.dataset names (FolderPairs)"

    def __init__(self, cfg):
        from tfclica.data import training_data
        from tfclica.data.dataset import folder_pairs, open_dataset, stored_image_size
        from tfclica.latents import build_pair_sampler

        self.cfg = cfg
        try:
            self.folder = open_dataset(cfg)
        except ConfigError as err:
            raise ConfigError(
                f"{err}; exporting a --dataset run checks its encoder on that folder's images"
            ) from None
        self.pairs = folder_pairs(cfg, build_pair_sampler(cfg), self.folder)
        self.data = training_data.FolderData(self.pairs, self.folder, cfg.image_size)
        self.stored_size = stored_image_size(self.folder)

    @property
    def max_samples(self) -> int:
        return self.folder.num_images

    def observations(self, num: int, stream: Stream):
        """``(z, x)``: ``num`` distinct folder images of stream ``stream`` (normalised)."""
        return self.pairs.sample_images(num, seed_of(self.cfg.seed, stream))

    def reference(self, num: int) -> dict[str, np.ndarray]:
        """``z``, ``x`` and ``pixels`` (the PNGs as stored, uint8) of ``num`` folder images, so
        another runtime can check its own scaling of raw images against ``x``."""
        import tensorflow as tf

        from tfclica.latents import seeds

        num = min(num, self.folder.num_images)
        seed = seeds.as_seed(seed_of(self.cfg.seed, Stream.REFERENCE_IO))
        keys = seeds.uniform([self.folder.num_images], seed).numpy()
        chosen = np.sort(np.argsort(keys, kind="stable")[:num])
        pixels = [
            tf.io.decode_png(tf.io.read_file(self.folder.paths[i]), channels=3).numpy()
            for i in chosen
        ]
        x = [self.pairs.normalise(self.pairs.load_image(int(i))).numpy() for i in chosen]
        return {"x": np.stack(x), "z": self.folder.latents[chosen], "pixels": np.stack(pixels)}

    def fit_alignment(self, model, samples: int):
        """The final evaluation's maps for ``model`` (:func:`~.alignment.fit_alignment`)."""
        from tfclica.export.alignment import fit_alignment

        note = (
            "the fit half of the run's final evaluation (metrics.json): the first "
            f"{samples} of the 2 * {samples} distinct folder images drawn with this seed"
        )
        return fit_alignment(self.cfg, model, self.data, samples, note)

    def input_metadata(self) -> dict:
        """The layout and the scaling, with the folder's per-channel mean and std."""
        size = self.cfg.image_size
        stats = "the folder's render.json"
        if not self.folder.rendered:  # the loader falls back to the published set's statistics
            stats = "the published 3DIdent training set's (the folder has no render.json)"
        extra = {"statistics": stats}
        if self.stored_size != (size, size):
            extra["resize"] = {
                "from": list(self.stored_size),
                "to": [size, size],
                "method": "area (tf.image.resize)",
                "where": "after pixel / 255, before the mean and std",
            }
        note = (
            "as the run's loader (FolderPairs) fed the encoder: each PNG decoded to uint8 RGB, "
            "divided by 255, "
            + ("resized, " if "resize" in extra else "")
            + "then normalised per channel with these mean and std"
        )
        mean, std = self.folder.channel_mean, self.folder.channel_std
        return {"layout": LAYOUT, "scaling": _scaling(mean, std, note, **extra)}

    def omitted(self) -> dict[str, str]:
        return {"mixing": FOLDER_MIXING_NOTE, "generator": FOLDER_GENERATOR_NOTE}

    def metadata(self) -> dict:
        """The ``dataset`` section: the folder, its size and the checksum of its latents."""
        from tfclica.data.training_data import latents_sha256

        return {
            "dataset": {
                "path": str(self.folder.root),
                "num_images": self.folder.num_images,
                "stored_image_size": list(self.stored_size),
                "latents_sha256": latents_sha256(self.folder.latents),
            }
        }


def run_data(cfg, run_dir):
    """The data of the run in ``run_dir``: :class:`FolderData` or :class:`SourceData`.

    Raises:
        ConfigError: the image folder is gone or changed, or the run has no ``mixing/``.
    """
    from tfclica import rundir

    if cfg.dataset:
        return FolderData(cfg)
    return SourceData(cfg, rundir.load_mixing(run_dir))
