"""Export a run's encoder: write every file of the layout, its metadata, and check parity.

The files are those of :mod:`tfclica.export.layout`. Every file is written into a temporary
directory beside the target, checked against the Keras encoder on 10,000 samples of the run's
data distribution, and only then renamed into place.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from tfclica import __version__, rundir
from tfclica.config import ExperimentConfig
from tfclica.errors import ConfigError, ParityError
from tfclica.export.formats import MIN_OPSET, write_onnx, write_savedmodel
from tfclica.export.generator import write_generator
from tfclica.export.layout import (
    FORMAT,
    FORMAT_VERSION,
    GENERATORS,
    INPUT_NAME,
    METADATA_FILE,
    MIXING_DIR,
    MIXING_SPEC_FILE,
    ONNX_FILE,
    OUTPUT_NAME,
    REFERENCE_IO_FILE,
    SAVEDMODEL_DIR,
    SIGNATURE_KEY,
)
from tfclica.export.loaders import load_encoder
from tfclica.export.parity import encoder_diffs, generator_parity
from tfclica.streams import Stream

FORMATS = ("savedmodel", "onnx")
PARITY_SAMPLES = 10_000
PARITY_TOLERANCE = 1e-5
REFERENCE_IO_SAMPLES = 256


def _software_versions() -> dict[str, str]:
    import keras
    import onnx
    import onnxruntime
    import tensorflow as tf
    import tf2onnx

    return {
        "tfclica": __version__,
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "tf2onnx": tf2onnx.__version__,
        "onnx": onnx.__version__,
        "onnxruntime": onnxruntime.__version__,
        "numpy": np.__version__,
    }


def build_metadata(
    cfg: ExperimentConfig,
    metrics: dict,
    mixing_sha256: str,
    input_dim: int,
    output_dim: int,
    formats: tuple[str, ...],
    run_name: str,
    opset: int = MIN_OPSET,
    note: str | None = None,
) -> dict:
    """The metadata of one export (``metadata.json``), before the parity section is added."""
    config = cfg.to_dict()
    config["encoder_widths"] = list(cfg.hidden_widths)
    files: dict = {"mixing": MIXING_DIR, "reference_io": REFERENCE_IO_FILE}
    if "savedmodel" in formats:
        files["savedmodel"] = {"path": SAVEDMODEL_DIR, "signature": SIGNATURE_KEY}
    if "onnx" in formats:
        files["onnx"] = {"path": ONNX_FILE, "opset": opset}
    files["generator"] = {
        g.name: {
            "input": g.input,
            "output": g.output,
            **({"savedmodel": f"{MIXING_DIR}/{g.savedmodel}"} if "savedmodel" in formats else {}),
            **({"onnx": f"{MIXING_DIR}/{g.onnx}"} if "onnx" in formats else {}),
        }
        for g in GENERATORS
    }
    metadata = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "tfclica_version": __version__,
        "created_utc": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "run_name": run_name,
        "preset": cfg.preset,
        "space": cfg.space,
        "head": cfg.head,
        "input": {"name": INPUT_NAME, "shape": [None, input_dim], "dtype": "float32"},
        "output": {"name": OUTPUT_NAME, "shape": [None, output_dim], "dtype": "float32"},
        "mixing_sha256": mixing_sha256,
        "metrics": metrics,
        "config": config,
        "files": files,
        "software": _software_versions(),
    }
    if note:
        metadata["note"] = note
    return metadata


def _check_run(run_dir: Path) -> tuple[ExperimentConfig, dict]:
    """Config and final metrics of a finished run; :class:`ConfigError` otherwise."""
    if not (run_dir / rundir.CONFIG_FILE).is_file():
        raise ConfigError(f"{run_dir} is not a run directory (no {rundir.CONFIG_FILE})")
    missing = [f for f in (rundir.ENCODER_FILE, rundir.METRICS_FILE) if not (run_dir / f).is_file()]
    if missing:
        raise ConfigError(
            f"run {run_dir} is not finished (no {' or '.join(missing)}); "
            f"finish it with: tfclica train --resume --out {run_dir}"
        )
    return rundir.load_config(run_dir), rundir.read_metrics(run_dir)


def _check_target(out: Path, force: bool) -> None:
    """Refuse an existing target unless forced, and never replace something not an export."""
    if not out.exists():
        return
    if not force:
        raise ConfigError(f"export target {out} exists; use --force to replace it")
    is_export = out.is_dir() and (out / METADATA_FILE).is_file()
    if not is_export and not (out.is_dir() and not any(out.iterdir())):
        # --force replaces the whole directory: guard against `--out .` or a run directory.
        raise ConfigError(
            f"export target {out} exists and is not a tfclica export (no {METADATA_FILE}); "
            "refusing to replace it even with --force"
        )


def _observations(cfg: ExperimentConfig, mixing, num: int, stream: int):
    from tfclica.evaluation import sample_observations
    from tfclica.latents import build_pair_sampler

    return sample_observations(build_pair_sampler(cfg), mixing, num, (cfg.seed, int(stream)))


def export_run(
    run_dir,
    out=None,
    formats: tuple[str, ...] = FORMATS,
    force: bool = False,
    opset: int = MIN_OPSET,
    note: str | None = None,
    parity_samples: int = PARITY_SAMPLES,
    tolerance: float = PARITY_TOLERANCE,
    log=None,
) -> dict:
    """Export the encoder of a finished run and check every export against the Keras encoder.

    Args:
        run_dir: a run directory with ``encoder.keras`` and ``metrics.json``.
        out: the export directory (default ``saved_models/<run name>``).
        formats: any of ``FORMATS``.
        force: replace ``out`` if it exists.
        opset: ONNX opset (at least 17).
        note: free text stored in the metadata (e.g. the command that trained the run).
        parity_samples: samples of the run's data distribution for the parity check.
        tolerance: largest allowed max-abs difference to the Keras encoder.
        log: called with progress messages (``None``: silent).

    Returns:
        The final metadata, including ``parity``: samples, tolerance and, per format, the max
        absolute difference.

    Raises:
        ConfigError: unfinished run, unknown format, or ``out`` exists without ``force``.
        ParityError: an export disagrees with the Keras encoder; nothing is written.
    """
    run_dir = Path(run_dir)
    log = log or (lambda message: None)
    formats = tuple(dict.fromkeys(formats))
    if not formats or any(f not in FORMATS for f in formats):
        raise ConfigError(f"formats {list(formats)} must be among: {', '.join(FORMATS)}")
    if opset < MIN_OPSET:
        raise ConfigError(f"opset={opset} is below the minimum {MIN_OPSET}")
    cfg, metrics = _check_run(run_dir)
    run_name = run_dir.resolve().name
    out = Path(out) if out is not None else Path("saved_models") / run_name
    _check_target(out, force)
    mixing = rundir.load_mixing(run_dir)

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.tmp-"))
    tmp.chmod(0o755)  # mkdtemp makes it private; an export is meant to be shared
    try:
        keras_encoder = load_encoder(run_dir / rundir.ENCODER_FILE)
        rundir.save_mixing(tmp, mixing)
        (tmp / MIXING_DIR).chmod(0o755)
        metadata = build_metadata(
            cfg,
            metrics,
            mixing.checksum(),
            keras_encoder.input_dim,
            keras_encoder.output_dim,
            formats,
            run_name,
            opset,
            note,
        )
        embedded = json.dumps(metadata, indent=2) + "\n"
        (tmp / METADATA_FILE).write_text(embedded)
        if "savedmodel" in formats:
            log(f"writing SavedModel ({SAVEDMODEL_DIR}/)")
            write_savedmodel(keras_encoder.model, tmp / SAVEDMODEL_DIR, tmp / METADATA_FILE)
        if "onnx" in formats:
            log(f"converting to ONNX opset {opset} ({ONNX_FILE})")
            write_onnx(keras_encoder.model, tmp / ONNX_FILE, embedded, opset)
        log(f"writing g and g_inverse ({MIXING_DIR}/)")
        write_generator(
            mixing, tmp / MIXING_DIR, tmp / MIXING_DIR / MIXING_SPEC_FILE, formats, opset
        )

        z_io, x_io = _observations(cfg, mixing, REFERENCE_IO_SAMPLES, Stream.REFERENCE_IO)
        np.savez(tmp / REFERENCE_IO_FILE, x=x_io, z=z_io, z_hat=keras_encoder(x_io))

        log(f"checking parity on {parity_samples} samples")
        z, x = _observations(cfg, mixing, parity_samples, Stream.PARITY)
        diffs = encoder_diffs(keras_encoder, tmp, formats, x)
        generator = generator_parity(mixing, tmp / MIXING_DIR, formats, z, x)
        metadata["parity"] = {
            "reference": "keras",
            "samples": parity_samples,
            "seed": [cfg.seed, int(Stream.PARITY)],
            "tolerance": tolerance,
            "max_abs_diff": diffs,
            "generator": generator,
        }
        _raise_on_failure(diffs, tolerance, generator, parity_samples, out)
        (tmp / METADATA_FILE).write_text(json.dumps(metadata, indent=2) + "\n")
        if out.exists():
            rundir.replace_dir(tmp, out)
        else:
            tmp.rename(out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return metadata


def _raise_on_failure(diffs: dict, tolerance: float, generator: dict, samples: int, out: Path):
    """:class:`ParityError` naming every file that failed its check (NaN fails too)."""
    failed = [
        f"{f} max |diff| {d:.3g} > {tolerance:g}" for f, d in diffs.items() if not d <= tolerance
    ]
    bound = generator["tolerance_ulp"]
    failed += [
        f"{MIXING_DIR}/{name} {ulp:.3g} ulp > {bound:g} from NumPy float64"
        for name, ulp in generator["max_ulp"].items()
        if not ulp <= bound
    ]
    if failed:
        raise ParityError(
            f"parity check failed: {', '.join(failed)} on {samples} samples; "
            f"nothing was written to {out}"
        )
