"""Score an encoder of any format on fresh samples of the data it was trained on.

This module finds what an export needs to be scored (its config, recorded metrics and the
frozen g it was trained on, or the image folder of a ``--dataset`` run, as the run's
:class:`~tfclica.data.training_data.TrainingData`); the scoring itself is the run's own
(:func:`~tfclica.evaluation.scoring.evaluate_on_data`).
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

from tfclica import rundir
from tfclica.config.experiment import ExperimentConfig
from tfclica.errors import ConfigError
from tfclica.export.layout import METADATA_FILE, MIXING_DIR, MIXING_WEIGHTS_FILE
from tfclica.export.loaders import LoadedEncoder, load_encoder, read_metadata
from tfclica.streams import Stream


def evaluate_model(
    model,
    mixing=None,
    num_samples: int | None = None,
    seed: int | None = None,
) -> dict:
    """Score an encoder of any format on fresh samples of the data it was trained on.

    Args:
        model: a run directory, an export directory, a SavedModel directory, an ``.onnx`` or a
            ``.keras`` file.
        mixing: where the run's g lives (a run directory, an export directory or a ``mixing``
            directory). Default: beside the model. For a run on an image folder: the folder
            (default: the one its config names; it must hold the same latents).
        num_samples: fit and held-out samples each (default: the run's ``eval_samples``).
        seed: first seed word of the fresh samples (default: the run's seed).

    Returns:
        The metrics.json fields: ``preset``, ``seed``, ``steps``, ``batch_size``,
        ``wall_seconds`` and ``samples_per_second`` describe the run that trained the encoder
        (``None`` where unknown); the scores are new. Added keys: ``model``, ``format``,
        ``eval_seed``, ``eval_wall_seconds``.
    """
    from tfclica.evaluation.scoring import evaluate_on_data

    model = Path(model)
    encoder = load_encoder(model)
    home = model if model.is_dir() else model.parent
    search = [Path(mixing)] if mixing is not None else [home, encoder.path.parent]
    cfg, recorded, checksum = _describe(encoder, search)
    num = num_samples or cfg.eval_samples
    eval_seed = (cfg.seed if seed is None else seed, Stream.EXPORT_EVAL)
    start = time.perf_counter()
    data = _training_data(encoder, cfg, num, mixing, search, model, checksum)
    scores = evaluate_on_data(encoder, data, data.evaluation_sets(num, eval_seed))
    result = {
        "preset": cfg.preset,
        "seed": cfg.seed,
        "steps": cfg.steps,
        "batch_size": cfg.batch_size,
        "wall_seconds": recorded.get("wall_seconds"),
        "samples_per_second": recorded.get("samples_per_second"),
        **scores,
        "model": str(model),
        "format": encoder.format,
        "eval_seed": list(eval_seed),
        "eval_wall_seconds": time.perf_counter() - start,
    }
    return result


def _training_data(
    encoder: LoadedEncoder, cfg, num: int, mixing, search: list[Path], model, checksum
):
    """The data the encoder was trained on, as a
    :class:`~tfclica.data.training_data.TrainingData`, checked against the encoder: the run's
    image folder (``mixing``, else the one its config names; the same latents), or its g (found
    in ``search``; the same checksum)."""
    from tfclica.data.training_data import FolderData, SyntheticData, latents_sha256
    from tfclica.latents import build_pair_sampler

    if cfg.dataset:
        from tfclica.data.dataset import folder_pairs, open_dataset

        root = Path(mixing) if mixing is not None else Path(cfg.dataset)
        if not root.is_dir():
            raise ConfigError(
                f"the encoder was trained on the image folder {root}, which is not a directory; "
                "pass --mixing FOLDER (the folder, moved)"
            )
        folder_cfg = cfg.replace(dataset=str(root.resolve()), eval_samples=num)
        folder = open_dataset(folder_cfg)
        recorded = ((encoder.metadata or {}).get("dataset") or {}).get("latents_sha256")
        found = latents_sha256(folder.latents)
        if recorded is not None and found != recorded:
            raise ConfigError(
                f"the image folder {root} (latents sha256 {found[:12]}...) is not the one this "
                f"encoder was trained on (sha256 {recorded[:12]}...)"
            )
        pairs = folder_pairs(folder_cfg, build_pair_sampler(folder_cfg), folder)
        data = FolderData(pairs, folder, cfg.image_size)
        what = f"the run's images are {cfg.image_size}x{cfg.image_size}"
    else:
        source, where = _find_mixing(search, model)
        if checksum is not None and source.checksum() != checksum:
            raise ConfigError(
                f"the mixing in {where} (sha256 {source.checksum()[:12]}...) is not the g this "
                f"encoder was trained on (sha256 {checksum[:12]}...)"
            )
        data = SyntheticData(build_pair_sampler(cfg), source)
        shape = ", ".join(str(d) for d in data.observation_shape)
        what = f"the mixing makes observations x[batch, {shape}]"
    if tuple(data.observation_shape) != encoder.input_shape:
        raise ConfigError(f"{what} but the encoder takes {encoder.input_text}")
    return data


def config_of(meta: dict, source) -> ExperimentConfig:
    """The run's config from export metadata.

    Keys the export lacks (it predates them) take their defaults. A key this tfclica does not
    know was added by a newer one and may change the data distribution, so scoring refuses it.
    """
    known = {field.name for field in dataclasses.fields(ExperimentConfig)}
    unknown = sorted(set(meta.get("config", {})) - known)
    if unknown:
        raise ConfigError(
            f"{source}: config key(s) {', '.join(unknown)} come from a newer tfclica; the export "
            "loads and encodes, but scoring it needs that version"
        )
    return ExperimentConfig().replace(**meta.get("config", {}))


def _from_metadata(meta: dict, source):
    return config_of(meta, source), meta.get("metrics", {}), meta.get("mixing_sha256")


def _describe(encoder: LoadedEncoder, search: list[Path]):
    """``(config, recorded metrics, mixing sha256 or None)`` from metadata or a run directory."""
    if encoder.metadata is not None:
        return _from_metadata(encoder.metadata, encoder.path)
    for folder in search:
        if (folder / rundir.CONFIG_FILE).is_file():
            metrics_file = folder / rundir.METRICS_FILE
            recorded = rundir.read_metrics(folder) if metrics_file.is_file() else {}
            return rundir.load_config(folder), recorded, None
        if (folder / METADATA_FILE).is_file():
            return _from_metadata(read_metadata(folder), folder / METADATA_FILE)
    raise ConfigError(
        f"{encoder.path} carries no metadata and no run directory was found beside it; "
        "pass --mixing RUN_DIR (a run directory with config.toml and mixing/)"
    )


def _find_mixing(search: list[Path], model: Path):
    for folder in search:
        if (folder / MIXING_DIR).is_dir() or (folder / MIXING_WEIGHTS_FILE).is_file():
            return rundir.load_mixing(folder), folder
    raise ConfigError(
        f"no mixing g found beside {model}; pass --mixing RUN_DIR (or an export directory)"
    )
