"""The shipped reference export in saved_models/: complete, exact, and usable without TensorFlow."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tfclica import rundir
from tfclica.config.experiment import ExperimentConfig
from tfclica.evaluation.scoring import sample_observations
from tfclica.export import evaluate_model, load_encoder
from tfclica.latents import build_pair_sampler

ROOT = Path(__file__).resolve().parents[1]
REFERENCES = sorted(p.parent for p in (ROOT / "saved_models").glob("*/metadata.json"))

# Run a script with every TensorFlow-family import (and tfclica itself) made impossible.
NO_TF_RUNNER = """
import runpy, sys
BLOCKED = {"tensorflow", "keras", "tf_keras", "tensorflow_probability", "tf2onnx", "tfclica"}
class Blocker:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError(f"import of {name} blocked by the test")
sys.meta_path.insert(0, Blocker())
try:
    import tensorflow
except ImportError:
    pass
else:
    sys.exit("the blocker failed: tensorflow imported")
sys.argv = sys.argv[1:]
try:
    runpy.run_path(sys.argv[0], run_name="__main__")
    code = 0
except SystemExit as stop:
    code = stop.code
loaded = sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED)
assert not loaded, f"blocked modules loaded: {loaded}"
sys.exit(code)
"""


@pytest.fixture(scope="module", params=REFERENCES, ids=lambda p: p.name)
def reference(request):
    return request.param


def test_a_reference_export_is_shipped():
    assert REFERENCES, "saved_models/ holds no export (no */metadata.json)"


def test_reference_is_complete_and_small(reference):
    meta = json.loads((reference / "metadata.json").read_text())
    assert meta["preset"] == "default" and meta["format"] == "tfclica-export"
    assert (reference / "savedmodel" / "saved_model.pb").is_file()
    assert (reference / "encoder.onnx").is_file() and (reference / "reference_io.npz").is_file()
    assert rundir.load_mixing(reference).checksum() == meta["mixing_sha256"]
    size = sum(p.stat().st_size for p in reference.rglob("*") if p.is_file())
    assert size < 8 * 2**20, f"reference export is {size / 2**20:.1f} MiB"
    assert all(d <= 1e-5 for d in meta["parity"]["max_abs_diff"].values())


@pytest.mark.parametrize("fmt", ["savedmodel", "onnx"])
def test_reference_matches_recorded_outputs_and_r2(reference, fmt):
    path = reference / ("savedmodel" if fmt == "savedmodel" else "encoder.onnx")
    encoder = load_encoder(path)
    with np.load(reference / "reference_io.npz") as ref:
        # Recorded from the Keras encoder at export time: the parity tolerance applies.
        np.testing.assert_allclose(encoder(ref["x"]), ref["z_hat"], rtol=0, atol=1e-5)
    recorded = json.loads((reference / "metadata.json").read_text())["metrics"]
    metrics = evaluate_model(path, num_samples=4096, seed=1234)
    assert metrics["format"] == fmt
    # Fresh samples (another seed than the run's evaluation): in-sample linear R^2 on 4096
    # samples varies between sample sets by about 1e-3 at R^2 ~ 0.9, well inside 0.01.
    assert abs(metrics["r2_linear"] - recorded["r2_linear"]) <= 0.01


def test_reference_formats_agree_on_fresh_samples(reference):
    meta = json.loads((reference / "metadata.json").read_text())
    cfg = ExperimentConfig().replace(**meta["config"])
    mixing = rundir.load_mixing(reference)
    _, x = sample_observations(build_pair_sampler(cfg), mixing, 10_000, (77, 0))
    a, b = load_encoder(reference / "savedmodel")(x), load_encoder(reference / "encoder.onnx")(x)
    # Each is within 1e-5 of the Keras encoder (parity), so within 2e-5 of each other.
    assert np.max(np.abs(a - b)) <= 2e-5


def test_onnx_tool_runs_without_tensorflow(reference, tmp_path):
    out = tmp_path / "z_hat.npy"
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            NO_TF_RUNNER,
            str(ROOT / "tools" / "onnx_encoder.py"),
            str(reference / "encoder.onnx"),
            "--check",
            str(reference / "reference_io.npz"),
            "--output",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "check ok" in proc.stdout
    with np.load(reference / "reference_io.npz") as ref:
        np.testing.assert_allclose(np.load(out), ref["z_hat"], rtol=0, atol=1e-5)
