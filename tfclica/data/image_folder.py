"""The published 3DIdent folder layout, read and written.

A folder holds ``images/<index>.png`` (RGB; the index zero-padded to ``ceil(log10 N)`` digits,
as the reference's dataset class builds the names) and ``raw_latents.npy`` (``[N, 10]``, row
``i`` the factors of image ``i``, in [-1, 1]). A folder written by :func:`write_rendered_set`
also holds ``render.json``: the renderer's spec, the seed, and the set's own per-channel mean
and std (which the loader normalises with; the published set's are :data:`THREEDIDENT_MEAN` and
:data:`THREEDIDENT_STD`).
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tfclica.errors import ConfigError

IMAGES_DIR = "images"
LATENTS_FILE = "raw_latents.npy"
RENDER_FILE = "render.json"
# Per-channel statistics of the published 3DIdent training images (the reference normalises with
# them), for folders without a render.json.
THREEDIDENT_MEAN = (0.4327, 0.2689, 0.2839)
THREEDIDENT_STD = (0.1201, 0.1457, 0.1082)
RENDER_CHUNK = 256  # images rendered per compiled call


def index_width(num_images: int) -> int:
    """Digits of the zero-padded image index: ``ceil(log10 N)``, as the reference reads them."""
    return int(math.ceil(math.log10(num_images))) if num_images > 0 else 0


def image_name(index: int, num_images: int) -> str:
    """The file name of image ``index`` in a folder of ``num_images`` images."""
    return f"{str(index).zfill(index_width(num_images))}.png"


@dataclass(frozen=True)
class ImageFolder:
    """A 3DIdent-layout folder, checked and described.

    Attributes:
        root: the folder.
        latents: float32 ``[N, n]``, row ``i`` the factors of image ``i``.
        paths: the N image paths, in index order.
        channel_mean, channel_std: per-channel statistics of the images in [0, 1] (the folder's
            own from ``render.json``, else the published 3DIdent's).
        rendered: the folder has a ``render.json`` (written by ``tfclica render``).
    """

    root: Path
    latents: np.ndarray
    paths: tuple[str, ...]
    channel_mean: tuple[float, float, float]
    channel_std: tuple[float, float, float]
    rendered: bool

    @property
    def num_images(self) -> int:
        return len(self.paths)


def read_folder(root: Path) -> ImageFolder:
    """Check and describe a 3DIdent-layout folder.

    Raises:
        ConfigError: no ``raw_latents.npy`` (or not ``[N, n]``), or a missing first or last image.
    """
    root = Path(root)
    latents_path = root / LATENTS_FILE
    try:
        latents = np.load(latents_path, allow_pickle=False)
    except (OSError, ValueError) as err:
        raise ConfigError(
            f"{root} is not a 3DIdent folder: cannot read {LATENTS_FILE} ({err})"
        ) from None
    if latents.ndim != 2 or len(latents) == 0 or not np.isfinite(latents).all():
        raise ConfigError(
            f"{latents_path}: expected finite latents of shape [N, n], got {latents.shape}"
        )
    num = len(latents)
    paths = tuple(str(root / IMAGES_DIR / image_name(i, num)) for i in range(num))
    for path in {paths[0], paths[-1]}:
        if not os.path.isfile(path):
            raise ConfigError(f"{root}: {LATENTS_FILE} has {num} rows but {path} is missing")
    mean, std, rendered = THREEDIDENT_MEAN, THREEDIDENT_STD, False
    if (root / RENDER_FILE).is_file():
        try:
            meta = json.loads((root / RENDER_FILE).read_text())
            mean = tuple(float(v) for v in meta["channel_mean"])
            std = tuple(float(v) for v in meta["channel_std"])
        except (OSError, ValueError, KeyError, TypeError) as err:
            raise ConfigError(f"{root / RENDER_FILE} is damaged ({err})") from None
        rendered = True
    return ImageFolder(root, latents.astype(np.float32), paths, mean, std, rendered)


def prepare_output(out: Path) -> None:
    """Raise :class:`ConfigError` unless ``out`` can become a new image folder."""
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out} exists and is not a directory")
    if out.is_dir() and any(out.iterdir()):
        raise ConfigError(f"--out {out} is not empty; an image set needs a new or empty directory")
    if not out.parent.is_dir():
        raise ConfigError(f"--out {out}: {out.parent} is not a directory")


def write_rendered_set(
    out: Path,
    num_images: int,
    image_size: int = 64,
    seed: int = 0,
    on_progress: Callable[[int, int], None] | None = None,
) -> dict:
    """Render ``num_images`` images of uniform factors in [-1, 1]^10 into a 3DIdent folder.

    Everything is written into a temporary directory next to ``out`` and renamed into place at
    the end: ``out`` never holds a partial set. The factors are a pure function of ``seed``
    (stream ``Stream.RENDER``).

    Args:
        out: the folder to create (absent or empty).
        num_images: number of images N.
        image_size: height and width.
        seed: seed of the factors.
        on_progress: called with ``(images written, num_images)`` after each chunk.

    Returns:
        The ``render.json`` content.

    Raises:
        ConfigError: a bad count or size, or an ``out`` that exists and is not empty.
    """
    import tensorflow as tf

    from tfclica.latents import seeds
    from tfclica.observations.rendered import RenderedImages
    from tfclica.observations.renderer import FACTOR_NAMES, NUM_FACTORS, to_uint8
    from tfclica.rundir import publish_mode
    from tfclica.streams import Stream, seed_of

    if not isinstance(num_images, int) or num_images <= 0:
        raise ConfigError(f"the number of images must be a positive integer, got {num_images!r}")
    if not isinstance(seed, int) or seed < 0:
        raise ConfigError(f"seed must be a non-negative integer, got {seed!r}")
    source = RenderedImages(image_size)  # ConfigError-free: sizes are checked by the caller
    out = Path(out)
    prepare_output(out)
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp"))
    try:
        publish_mode(tmp, directory=True)
        (tmp / IMAGES_DIR).mkdir()
        base = seeds.as_seed(seed_of(seed, Stream.RENDER))

        @tf.function(jit_compile=False)
        def chunk_pngs(chunk_seed):
            z = seeds.uniform([RENDER_CHUNK, NUM_FACTORS], chunk_seed, minval=-1.0, maxval=1.0)
            images = to_uint8(source(z))
            pngs = tf.map_fn(tf.io.encode_png, images, fn_output_signature=tf.string)
            sums = tf.reduce_sum(tf.cast(images, tf.float64) / 255.0, axis=[1, 2])
            squares = tf.reduce_sum(tf.square(tf.cast(images, tf.float64) / 255.0), axis=[1, 2])
            return z, pngs, sums, squares

        latents, total, total_sq = [], np.zeros(3), np.zeros(3)
        for chunk, start in enumerate(range(0, num_images, RENDER_CHUNK)):
            z, pngs, sums, squares = chunk_pngs(seeds.fold(base, chunk))
            count = min(RENDER_CHUNK, num_images - start)
            for k, png in enumerate(pngs.numpy()[:count]):
                (tmp / IMAGES_DIR / image_name(start + k, num_images)).write_bytes(png)
            latents.append(z.numpy()[:count])
            total += sums.numpy()[:count].sum(0)
            total_sq += squares.numpy()[:count].sum(0)
            if on_progress:
                on_progress(start + count, num_images)
        pixels = num_images * image_size * image_size
        mean = total / pixels
        std = np.sqrt(np.maximum(total_sq / pixels - mean**2, 0.0))
        np.save(tmp / LATENTS_FILE, np.concatenate(latents).astype(np.float32))
        meta = {
            "format": "3dident",
            "num_images": num_images,
            "image_size": image_size,
            "seed": seed,
            "factors": list(FACTOR_NAMES),
            "factor_range": [-1.0, 1.0],
            "channel_mean": [float(v) for v in mean],
            "channel_std": [float(v) for v in std],
            "renderer": source.spec(),
        }
        (tmp / RENDER_FILE).write_text(json.dumps(meta, indent=2) + "\n")
        os.replace(tmp, out)  # an empty `out` is replaced; a non-empty one was refused above
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return meta
