"""A run's image folder (``cfg.dataset``): checked before anything is written, then the source of
the train step's pairs and of the evaluation images.

A dataset run has no observation source: nothing is rendered and the run directory holds no
``mixing/``. Pairs come from :class:`~tfclica.data.loader.FolderPairs` (seeded by ``cfg.seed``,
keyed by the step). The encoder always sees ``image_size x image_size`` images: a folder stored
at another size is resized on load (area interpolation), so the CPU-sized presets train on a
full-resolution set unchanged; pass ``--image-size`` equal to the stored size to train on the
images as they are.
"""

from __future__ import annotations

import struct
from pathlib import Path

from tfclica.data.image_folder import ImageFolder, read_folder
from tfclica.errors import ConfigError

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def open_dataset(cfg) -> ImageFolder:
    """The folder ``cfg.dataset``, checked against ``cfg`` (reads only the latents).

    Raises:
        ConfigError: the folder is missing or not in the 3DIdent layout, its latents' dimension
            is not ``cfg.dim``, or it has fewer than ``2 * cfg.eval_samples`` images (every
            evaluation scores a fit and a held-out set of distinct images).
    """
    root = Path(cfg.dataset)
    if not root.is_dir():
        raise ConfigError(f"dataset {root} is not a directory")
    try:
        folder = read_folder(root)
    except ConfigError as err:
        raise ConfigError(f"dataset: {err}") from None
    num, dim = folder.latents.shape
    if dim != cfg.dim:
        raise ConfigError(
            f"dataset {root}: its latents have {dim} dimensions, the setting has dim={cfg.dim}"
        )
    if 2 * cfg.eval_samples > num:
        raise ConfigError(
            f"eval_samples={cfg.eval_samples} needs {2 * cfg.eval_samples} distinct images (a fit "
            f"and a held-out set), dataset {root} has {num}"
        )
    return folder


def stored_image_size(folder: ImageFolder) -> tuple[int, int]:
    """``(height, width)`` of the folder's first image, read from its PNG header.

    Raises:
        ConfigError: the file is not a PNG.
    """
    path = folder.paths[0]
    with open(path, "rb") as handle:
        head = handle.read(24)
    if head[:8] != _PNG_SIGNATURE or head[12:16] != b"IHDR":
        raise ConfigError(f"dataset: {path} is not a PNG image")
    width, height = struct.unpack(">II", head[16:24])
    return height, width


def factor_names(folder: ImageFolder) -> tuple[str, ...] | None:
    """The renderer's factor names for a folder of 10 factors (3DIdent's order), else ``None``
    (per-factor scores then name them ``z0, z1, ...``)."""
    from tfclica.observations.renderer import FACTOR_NAMES

    return FACTOR_NAMES if folder.latents.shape[1] == len(FACTOR_NAMES) else None


def folder_pairs(cfg, sampler, folder: ImageFolder):
    """The :class:`~tfclica.data.loader.FolderPairs` of a run: batches of ``cfg.batch_size``
    seeded by ``cfg.seed``, resized to ``cfg.image_size`` only where the stored size differs."""
    from tfclica.data.loader import FolderPairs

    size = cfg.image_size
    resize = None if stored_image_size(folder) == (size, size) else size
    return FolderPairs(folder, sampler, cfg.batch_size, seed=cfg.seed, image_size=resize)
