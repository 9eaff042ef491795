"""Export a run's encoder: write every file of the layout, its metadata, and check parity.

The files are those of :mod:`tfclica.export.layout`. Every file is written into a temporary
directory beside the target, checked against the Keras encoder on 10,000 samples of the run's
data distribution (1,024 images for an image encoder; :mod:`tfclica.export.run_data` says where
the observations come from), and only then renamed into place.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from tfclica import __version__, rundir
from tfclica.config.experiment import ExperimentConfig
from tfclica.errors import ConfigError, ParityError
from tfclica.export.formats import MIN_OPSET, write_onnx, write_savedmodel
from tfclica.export.generator import write_generator
from tfclica.export.layout import (
    ALIGNED_NAME,
    FORMAT,
    FORMAT_VERSION,
    GENERATORS,
    INPUT_NAME,
    METADATA_FILE,
    MIXING_DIR,
    MIXING_SPEC_FILE,
    ONNX_FILE,
    OUTPUT_NAME,
    PERMUTED_NAME,
    REFERENCE_IO_FILE,
    SAVEDMODEL_DIR,
    SIGNATURE_KEY,
)
from tfclica.export.loaders import load_encoder
from tfclica.export.parity import generator_parity, output_diffs
from tfclica.export.run_data import IMAGE_PARITY_SAMPLES, IMAGE_REFERENCE_SAMPLES, run_data
from tfclica.streams import Stream

FORMATS = ("savedmodel", "onnx")
PARITY_SAMPLES = 10_000
PARITY_TOLERANCE = 1e-5
REFERENCE_IO_SAMPLES = 256
# Image encoders: onnxruntime's NCHW convolutions sum in another order than TF's NHWC ones, and
# the error grows with the activations (a fresh ResNet-18 on 32x32 renders: 8.6e-6 at max
# |z_hat| 9.0, about 1e-6 of it), so the tolerance is relative to the outputs' size.
IMAGE_TOLERANCE_RULE = "tolerance * max(1, max |z_hat|) over the parity inputs (image encoders)"


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
    alignment: dict | None = None,
    generator: bool = True,
    input_extra: dict | None = None,
    omitted: dict | None = None,
    extra: dict | None = None,
    mixing: bool = True,
) -> dict:
    """The metadata of one export (``metadata.json``), before the parity section is added.

    ``input_dim`` is the width of vector observations, or one observation's shape (``(H, W,
    3)`` for images). ``alignment`` is the ``alignment`` section
    (:meth:`Alignment.to_metadata`): with it, the encoder files have the outputs ``z_aligned``
    and ``z_permuted`` after ``z_hat``. ``generator``: whether ``mixing/`` holds g and g_inverse
    as graphs; ``mixing``: whether the export has ``mixing/`` at all. ``input_extra``: keys added
    to ``input`` (images: ``layout``, ``scaling``); ``omitted``: ``{part: why it is absent}``;
    ``extra``: further top-level keys (a folder run's ``dataset``).
    """
    config = cfg.to_dict()
    config["encoder_widths"] = list(cfg.hidden_widths)
    shape = [input_dim] if isinstance(input_dim, int) else [int(d) for d in input_dim]
    files: dict = {"mixing": MIXING_DIR} if mixing else {}
    files["reference_io"] = REFERENCE_IO_FILE
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
        "input": {
            "name": INPUT_NAME,
            "shape": [None, *shape],
            "dtype": "float32",
            **(input_extra or {}),
        },
        "output": {"name": OUTPUT_NAME, "shape": [None, output_dim], "dtype": "float32"},
        "outputs": [
            {"name": name, "shape": [None, output_dim], "dtype": "float32"}
            for name in [OUTPUT_NAME, *([ALIGNED_NAME, PERMUTED_NAME] if alignment else [])]
        ],
        "mixing_sha256": mixing_sha256,
        "metrics": metrics,
        "config": config,
        "files": files,
        "software": _software_versions(),
        **(extra or {}),
    }
    if omitted:
        metadata["omitted"] = dict(omitted)
    if alignment:
        metadata["alignment"] = alignment
    if not generator:
        del metadata["files"]["generator"]
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


def export_run(
    run_dir,
    out=None,
    formats: tuple[str, ...] = FORMATS,
    force: bool = False,
    opset: int = MIN_OPSET,
    note: str | None = None,
    parity_samples: int | None = None,
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
        parity_samples: samples of the run's data distribution for the parity check (default
            10,000; 1,024 images for an image encoder; at most the images of a folder).
        tolerance: largest allowed max-abs difference to the Keras encoder (for an image
            encoder: times ``max(1, max |z_hat|)``, see :data:`IMAGE_TOLERANCE_RULE`).
        log: called with progress messages (``None``: silent).

    Returns:
        The final metadata, including ``parity``: samples, tolerance and, per format, the max
        absolute difference.

    Raises:
        ConfigError: unfinished run, unknown format, ``out`` exists without ``force``, or the
            image folder of a ``--dataset`` run is gone.
        ParityError: an export disagrees with the Keras encoder; nothing is written.
    """
    run_dir = Path(run_dir)
    log = log or (lambda message: None)
    formats = tuple(dict.fromkeys(formats))
    if not formats or any(f not in FORMATS for f in formats):
        raise ConfigError(f"formats {list(formats)} must be among: {', '.join(FORMATS)}")
    if opset < MIN_OPSET:
        raise ConfigError(f"opset={opset} is below the minimum {MIN_OPSET}")
    if parity_samples is not None and parity_samples < 1:
        raise ConfigError(f"parity_samples={parity_samples} must be at least 1")
    cfg, metrics = _check_run(run_dir)
    run_name = run_dir.resolve().name
    out = Path(out) if out is not None else Path("saved_models") / run_name
    _check_target(out, force)
    data = run_data(cfg, run_dir)
    if parity_samples is None:
        parity_samples = IMAGE_PARITY_SAMPLES if data.images else PARITY_SAMPLES
    if data.max_samples is not None:
        parity_samples = min(parity_samples, data.max_samples)

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.tmp-"))
    tmp.chmod(0o755)  # mkdtemp makes it private; an export is meant to be shared
    try:
        keras_encoder = load_encoder(run_dir / rundir.ENCODER_FILE)
        samples = int(metrics.get("eval_samples", cfg.eval_samples))
        log(f"refitting the final evaluation's alignment on its {samples} fit samples")
        alignment = data.fit_alignment(keras_encoder.model, samples)
        if data.source is not None:
            rundir.save_mixing(tmp, data.source)
            (tmp / MIXING_DIR).chmod(0o755)
        metadata = build_metadata(
            cfg,
            metrics,
            data.checksum,
            keras_encoder.input_shape,
            keras_encoder.output_dim,
            formats,
            run_name,
            opset,
            note,
            alignment.to_metadata(),
            data.has_generator,
            input_extra=data.input_metadata(),
            omitted=data.omitted(),
            extra=data.metadata(),
            mixing=data.source is not None,
        )
        _write_files(tmp, metadata, keras_encoder, alignment, data, formats, opset, log)
        reference_samples = IMAGE_REFERENCE_SAMPLES if data.images else REFERENCE_IO_SAMPLES
        reference = data.reference(reference_samples)
        _write_reference_io(tmp / REFERENCE_IO_FILE, keras_encoder, alignment, reference)

        log(f"checking parity on {parity_samples} samples")
        z, x = data.observations(parity_samples, Stream.PARITY)
        seed = [cfg.seed, int(Stream.PARITY)]
        parity = _parity(tmp, formats, keras_encoder, alignment, x, seed, tolerance, data)
        metadata["parity"] = parity
        if data.has_generator:
            metadata["parity"]["generator"] = generator_parity(
                data.source, tmp / MIXING_DIR, formats, z, x
            )
        _raise_on_failure(metadata["parity"], out)
        (tmp / METADATA_FILE).write_text(json.dumps(metadata, indent=2) + "\n")
        if out.exists():
            rundir.replace_dir(tmp, out)
        else:
            tmp.rename(out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return metadata


def _parity(tmp: Path, formats, keras_encoder, alignment, x, seed, tolerance: float, data):
    """The ``parity`` section (less ``generator``): every format's outputs on ``x`` (drawn
    from ``seed``) against the Keras encoder's (the aligned ones through the map in float64)."""
    z_hat = keras_encoder(x).astype(np.float64)
    expected = {OUTPUT_NAME: z_hat, **alignment.apply(z_hat)}
    found = output_diffs(tmp, formats, x, expected)
    base = tolerance
    if data.images:
        tolerance = base * max(1.0, float(np.max(np.abs(z_hat))))
    tolerances = {OUTPUT_NAME: tolerance, **alignment.tolerances(tolerance)}
    # Images: z_hat's tolerance is not 1e-5, so it is recorded beside the aligned outputs' (where
    # readers such as tools/node_check look up an output's tolerance).
    checked = [OUTPUT_NAME] * data.images + [ALIGNED_NAME, PERMUTED_NAME]
    mapped = " through the map in float64"
    parity = {
        "reference": "keras",
        "samples": int(len(x)),
        "seed": list(seed),
        "observations": data.description,
        "tolerance": tolerance,
        "max_abs_diff": {fmt: found[fmt][OUTPUT_NAME] for fmt in formats},
        "outputs": {
            name: {
                "reference": "keras z_hat" + ("" if name == OUTPUT_NAME else mapped),
                "tolerance": tolerances[name],
                "max_abs_diff": {fmt: found[fmt][name] for fmt in formats},
            }
            for name in checked
        },
    }
    if data.images:
        parity.update(base_tolerance=base, tolerance_rule=IMAGE_TOLERANCE_RULE)
    return parity


def _write_files(tmp: Path, metadata, keras_encoder, alignment, data, formats, opset, log):
    """metadata.json, the encoder in each format (with the aligned outputs), g and g^-1."""
    embedded = json.dumps(metadata, indent=2) + "\n"
    (tmp / METADATA_FILE).write_text(embedded)
    extra = alignment.outputs()
    if "savedmodel" in formats:
        log(f"writing SavedModel ({SAVEDMODEL_DIR}/)")
        write_savedmodel(keras_encoder.model, tmp / SAVEDMODEL_DIR, tmp / METADATA_FILE, extra)
    if "onnx" in formats:
        log(f"converting to ONNX opset {opset} ({ONNX_FILE})")
        write_onnx(keras_encoder.model, tmp / ONNX_FILE, embedded, opset, extra=extra)
    if data.has_generator:
        log(f"writing g and g_inverse ({MIXING_DIR}/)")
        spec_file = tmp / MIXING_DIR / MIXING_SPEC_FILE
        write_generator(data.source, tmp / MIXING_DIR, spec_file, formats, opset)


def _write_reference_io(path: Path, keras_encoder, alignment, reference: dict):
    """The inputs (``x``, ``z``; images from a folder: ``pixels``) and the Keras encoder's
    outputs on ``x`` (z_hat and the aligned ones, float32)."""
    z_hat = keras_encoder(reference["x"])
    aligned = {k: np.ascontiguousarray(v, np.float32) for k, v in alignment.apply(z_hat).items()}
    np.savez(path, **reference, z_hat=z_hat, **aligned)


def _raise_on_failure(parity: dict, out: Path) -> None:
    """:class:`ParityError` naming every file and output that failed its check (NaN fails)."""
    tolerance = parity["tolerance"]
    failed = [
        f"{f} max |diff| {d:.3g} > {tolerance:g}"
        for f, d in parity["max_abs_diff"].items()
        if not d <= tolerance
    ]
    for name, check in parity["outputs"].items():
        if name == OUTPUT_NAME:
            continue  # checked above
        failed += [
            f"{f} {name} max |diff| {d:.3g} > {check['tolerance']:.3g}"
            for f, d in check["max_abs_diff"].items()
            if not d <= check["tolerance"]
        ]
    generator = parity.get("generator")
    if generator:
        bound = generator["tolerance_ulp"]
        failed += [
            f"{MIXING_DIR}/{name} {ulp:.3g} ulp > {bound:g} from NumPy float64"
            for name, ulp in generator["max_ulp"].items()
            if not ulp <= bound
        ]
    if failed:
        raise ParityError(
            f"parity check failed: {', '.join(failed)} on {parity['samples']} samples; "
            f"nothing was written to {out}"
        )
