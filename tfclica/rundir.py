"""The run directory on disk: config.toml, the frozen mixing, metrics.json. Writes are atomic."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from tfclica.config.experiment import ExperimentConfig, parse_toml, to_toml
from tfclica.errors import ConfigError
from tfclica.observations import ObservationSource, source_from_saved

CONFIG_FILE = "config.toml"
METRICS_FILE = "metrics.json"
MIXING_DIR = "mixing"  # the observation source (the frozen g), whatever its kind
MIXING_WEIGHTS_FILE = "weights.npz"  # inside MIXING_DIR: the arrays of source.to_arrays()
MIXING_SPEC_FILE = "spec.json"  # inside MIXING_DIR: kind, sha256 and the source's own spec
HISTORY_FILE = "evaluations.json"  # every evaluation during training (step, seconds, scores)
CHECKPOINT_DIR = "checkpoints"
ENCODER_FILE = "encoder.keras"
LOG_DIR = "logs"

# The keys every metrics.json has (docs/DESIGN.md); keys may be added, never renamed.
METRIC_KEYS = frozenset(
    {
        "preset",
        "seed",
        "steps",
        "batch_size",
        "wall_seconds",
        "samples_per_second",
        "r2_linear",
        "r2_linear_heldout",
        "r2_nonlinear",
        "mcc_pearson",
        "mcc_spearman",
        "identity",
        "eval_samples",
    }
)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def publish_mode(path: Path, directory: bool = False) -> None:
    """Give a temporary file or directory the mode a plain ``open``/``mkdir`` would have
    (``mkstemp``/``mkdtemp`` create them private to the owner)."""
    os.chmod(path, (0o777 if directory else 0o666) & ~_umask())


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file and a rename: never half-written."""
    path = Path(path)
    if not path.parent.is_dir():
        raise ConfigError(f"cannot write {path}: {path.parent} is not a directory")
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    publish_mode(Path(tmp))
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    """Text version of :func:`atomic_write_bytes`."""
    atomic_write_bytes(path, text.encode("utf-8"))


def replace_dir(tmp_dir: Path, final_dir: Path) -> None:
    """Move a completely written ``tmp_dir`` into place, replacing ``final_dir`` if present."""
    final_dir = Path(final_dir)
    if final_dir.exists():
        old = final_dir.with_name(f".{final_dir.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        os.replace(final_dir, old)
        os.replace(tmp_dir, final_dir)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp_dir, final_dir)


def prepare_run_dir(path: Path, resume: bool = False) -> Path:
    """Create (or, with ``resume``, check) a run directory; :class:`ConfigError` if unusable."""
    path = Path(path)
    if resume:
        if not (path / CONFIG_FILE).is_file():
            raise ConfigError(f"--resume: {path} is not a run directory (no {CONFIG_FILE})")
        return path
    if path.exists() and not path.is_dir():
        raise ConfigError(f"--out {path} exists and is not a directory")
    if path.is_dir() and (path / CONFIG_FILE).exists():
        raise ConfigError(
            f"--out {path} already holds a run; use --resume to continue it or another --out"
        )
    if path.is_dir() and any(path.iterdir()):
        raise ConfigError(f"--out {path} is not empty; a new run needs a new or empty directory")
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / ".write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as err:
        raise ConfigError(f"--out {path} is not writable ({err.strerror})") from None
    return path


def save_config(run_dir: Path, cfg: ExperimentConfig) -> None:
    atomic_write_text(Path(run_dir) / CONFIG_FILE, to_toml(cfg))


def load_config(run_dir: Path) -> ExperimentConfig:
    path = Path(run_dir) / CONFIG_FILE
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"cannot read {path} ({getattr(err, 'strerror', None) or err})") from None
    return ExperimentConfig().replace(**parse_toml(text, str(path)))


def save_mixing(run_dir: Path, source: ObservationSource) -> None:
    """Write the run's observation source (the frozen g) as ``mixing/weights.npz`` +
    ``mixing/spec.json`` (its spec, its kind and a sha256), atomically, as one directory."""
    final = Path(run_dir) / MIXING_DIR
    tmp = Path(tempfile.mkdtemp(dir=run_dir, prefix=".mixing."))
    publish_mode(tmp, directory=True)
    with open(tmp / MIXING_WEIGHTS_FILE, "wb") as handle:
        np.savez(handle, **source.to_arrays())
        handle.flush()
        os.fsync(handle.fileno())
    spec = {**source.spec(), "kind": source.kind, "sha256": source.checksum()}
    (tmp / MIXING_SPEC_FILE).write_text(json.dumps(spec, indent=2) + "\n")
    replace_dir(tmp, final)


def load_mixing(run_dir: Path) -> ObservationSource:
    """The frozen observation source of a run (or of a ``mixing`` directory itself), of any
    registered kind; checks its checksum."""
    folder = Path(run_dir)
    if (folder / MIXING_DIR).is_dir():
        folder = folder / MIXING_DIR
    try:
        spec = json.loads((folder / MIXING_SPEC_FILE).read_text())
        with np.load(folder / MIXING_WEIGHTS_FILE) as arrays:
            source = source_from_saved(spec, dict(arrays))
    except OSError as err:
        raise ConfigError(f"no mixing found in {run_dir} ({err.strerror or err})") from None
    except (ValueError, KeyError, zipfile.BadZipFile) as err:
        raise ConfigError(f"{folder}: damaged mixing files ({err})") from None
    if spec.get("sha256") != source.checksum():
        raise ConfigError(f"{folder}: mixing weights do not match the checksum in spec.json")
    return source


def write_metrics(run_dir: Path, metrics: dict[str, Any]) -> None:
    atomic_write_text(Path(run_dir) / METRICS_FILE, json.dumps(metrics, indent=2) + "\n")


def read_metrics(run_dir: Path) -> dict[str, Any]:
    path = Path(run_dir) / METRICS_FILE
    try:
        return json.loads(path.read_text())
    except OSError as err:
        raise ConfigError(f"cannot read {path} ({err.strerror or err})") from None
    except ValueError as err:  # JSONDecodeError, UnicodeDecodeError
        raise ConfigError(f"{path} is not valid JSON ({err})") from None


def write_history(run_dir: Path, history: list[dict[str, Any]]) -> None:
    """Write the evaluations made during training (``evaluations.json``), atomically."""
    atomic_write_text(Path(run_dir) / HISTORY_FILE, json.dumps(history, indent=1) + "\n")


def read_history(run_dir: Path) -> list[dict[str, Any]]:
    """The evaluations made during training, oldest first (``[]`` for a run without any)."""
    path = Path(run_dir) / HISTORY_FILE
    if not path.is_file():
        return []
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise ConfigError(f"{path} is not readable JSON ({err})") from None


class RunDirectory:
    """One run on disk: its config, observation source, checkpoints, encoders, metrics, logs.

    Every read and write of a run directory goes through here (the functions above are its
    implementation, usable on their own); writes are atomic.

    Args:
        path: an existing run directory (see :func:`prepare_run_dir`).
    """

    def __init__(self, path: Path):
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"RunDirectory({str(self.path)!r})"

    # -- config and observation source
    def save_config(self, cfg: ExperimentConfig) -> None:
        save_config(self.path, cfg)

    def load_config(self) -> ExperimentConfig:
        return load_config(self.path)

    def has_observations(self) -> bool:
        return (self.path / MIXING_DIR).is_dir()

    def save_observations(self, source: ObservationSource) -> None:
        save_mixing(self.path, source)

    def load_observations(self) -> ObservationSource:
        return load_mixing(self.path)

    # -- training state
    def checkpoint_dir(self, subdir: str = "") -> Path:
        """Where the checkpoints of one objective go (``subdir``: a second objective)."""
        return self.path / CHECKPOINT_DIR / subdir

    def log_dir(self, subdir: str = "") -> Path:
        """TensorBoard logs of one objective."""
        return self.path / LOG_DIR / subdir

    def save_encoder(self, encoder, name: str = ENCODER_FILE) -> Path:
        """Write a Keras model to ``name`` atomically (temporary file, then rename)."""
        final = self.path / name
        fd, tmp = tempfile.mkstemp(dir=self.path, prefix=".encoder.", suffix=".keras")
        os.close(fd)
        publish_mode(Path(tmp))
        try:
            encoder.save(tmp)
            os.replace(tmp, final)
        finally:
            Path(tmp).unlink(missing_ok=True)
        return final

    # -- results
    def has_metrics(self) -> bool:
        return (self.path / METRICS_FILE).is_file()

    def read_metrics(self) -> dict[str, Any]:
        return read_metrics(self.path)

    def write_metrics(self, metrics: dict[str, Any]) -> None:
        write_metrics(self.path, metrics)

    def read_history(self) -> list[dict[str, Any]]:
        return read_history(self.path)

    def write_history(self, history: list[dict[str, Any]]) -> None:
        write_history(self.path, history)
