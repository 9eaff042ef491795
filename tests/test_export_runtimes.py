"""An export outside tfclica's own loaders: Node.js, Keras (TFSMLayer, encoder.keras in a fresh
process), and the format_version policy of saved_models/README.md."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import onnx
import pytest

from tfclica.errors import ConfigError
from tfclica.export import (
    evaluate_model,
    export_run,
    load_encoder,
    load_keras_encoder,
    read_metadata,
)
from tfclica.export.layout import FORMAT_VERSION

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "saved_models" / "default-seed0"
NODE_CHECK = ROOT / "tools" / "node_check" / "check_export.mjs"
NODE_RUNTIME = ROOT / "tools" / "node_check" / "node_modules" / "onnxruntime-node"


@pytest.fixture(scope="module")
def fresh(tmp_path_factory, make_run_dir):
    cfg, run_dir, mixing = make_run_dir(tmp_path_factory.mktemp("run") / "runtimes-run", seed=8)
    out = tmp_path_factory.mktemp("exports") / "runtimes"
    export_run(run_dir, out)
    return run_dir, out


# ----------------------------------------------------------------------------------- Node.js


def _node(*args):
    """Run the Node.js check; skipped where Node or onnxruntime-node is not installed, unless
    TFCLICA_REQUIRE_NODE=1 (what .ci/run sets after installing them)."""
    if shutil.which("node") is None or not NODE_RUNTIME.is_dir():
        message = "node or tools/node_check/node_modules missing (npm ci --ignore-scripts)"
        if os.environ.get("TFCLICA_REQUIRE_NODE") == "1":
            pytest.fail(message)
        pytest.skip(message)
    cmd = ["node", str(NODE_CHECK), *map(str, args)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def test_node_checks_a_fresh_export(fresh):
    _, out = fresh
    proc = _node(out)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    checked = sorted((Path(line.split()[1]).name, line.split()[2].rstrip(":")) for line in lines)
    assert checked == [
        ("encoder.onnx", "z_aligned"),
        ("encoder.onnx", "z_hat"),
        ("encoder.onnx", "z_permuted"),
        ("g.onnx", "x"),
        ("g_inverse.onnx", "z"),
    ]
    assert all(line.startswith("ok ") for line in lines)


def test_node_checks_the_reference_export():
    proc = _node(REFERENCE)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.startswith("ok ") and "encoder.onnx z_hat" in proc.stdout


def test_node_check_fails_on_a_wrong_output(fresh, tmp_path):
    _, out = fresh
    copy = tmp_path / "tampered"
    shutil.copytree(out, copy)
    with np.load(copy / "reference_io.npz") as ref:
        arrays = dict(ref)
    arrays["z_hat"] = arrays["z_hat"] + np.float32(1e-4)  # ten times the tolerance
    np.savez_compressed(copy / "reference_io.npz", **arrays)  # deflated members: read too
    proc = _node(copy)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "FAILED" in proc.stdout and "encoder.onnx z_hat" in proc.stdout
    assert _node(tmp_path / "nowhere").returncode == 2


# ------------------------------------------------------------------------------------- Keras


def test_savedmodel_as_a_layer_of_a_keras_model(fresh):
    run_dir, out = fresh
    # The documented recipe (saved_models/README.md): the SavedModel as a frozen layer.
    layer = keras.layers.TFSMLayer(
        str(out / "savedmodel"), call_endpoint="serving_default", trainable=False
    )
    inputs = keras.Input(shape=(4,))
    z_hat = layer(inputs)["z_hat"]
    head = keras.layers.Dense(2, kernel_initializer="ones", bias_initializer="zeros")
    model = keras.Model(inputs, head(z_hat))
    assert layer.trainable_weights == [] and len(model.trainable_weights) == 2

    x = np.random.default_rng(0).uniform(-1, 1, (64, 4)).astype(np.float32)
    expected = load_encoder(out / "savedmodel")(x)
    np.testing.assert_allclose(layer(x)["z_hat"].numpy(), expected, rtol=0, atol=1e-6)
    np.testing.assert_allclose(model(x).numpy(), expected @ np.ones((4, 2)), atol=1e-5)
    # It trains like any model; the exported encoder stays frozen.
    model.compile(optimizer="sgd", loss="mse")
    model.fit(x, np.zeros((64, 2)), epochs=1, verbose=0)
    assert not np.allclose(head.get_weights()[0], 1.0)
    np.testing.assert_allclose(layer(x)["z_hat"].numpy(), expected, rtol=0, atol=1e-6)
    # With trainable=True (Keras' default) the encoder's own weights are exposed to fine-tune.
    tunable = keras.layers.TFSMLayer(str(out / "savedmodel"), call_endpoint="serving_default")
    assert len(tunable.trainable_weights) == len(load_keras_encoder(run_dir).weights)


def test_encoder_keras_loads_in_a_fresh_process(fresh, tmp_path):
    run_dir, _ = fresh
    x = np.random.default_rng(1).uniform(-1, 1, (16, 4)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    code = (
        "import sys, numpy as np\n"
        "import tfclica\n"
        "from tfclica.export import load_keras_encoder\n"
        "assert 'tfclica.models.encoders' not in sys.modules\n"
        f"model = load_keras_encoder({str(run_dir / 'encoder.keras')!r})\n"
        f"np.save({str(tmp_path / 'z.npy')!r}, model(np.load({str(tmp_path / 'x.npy')!r})))\n"
    )
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env=env
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    expected = load_keras_encoder(run_dir)(x).numpy()
    np.testing.assert_array_equal(np.load(tmp_path / "z.npy"), expected)


def test_load_keras_encoder_errors(tmp_path):
    with pytest.raises(ConfigError, match="no Keras encoder"):
        load_keras_encoder(tmp_path)
    (tmp_path / "broken.keras").write_bytes(b"not a zip")
    with pytest.raises(ConfigError, match="not a loadable Keras model") as info:
        load_keras_encoder(tmp_path / "broken.keras")
    assert "\n" not in str(info.value)


# ------------------------------------------------------------------------ format_version policy


def _with_metadata(export: Path, target: Path, change) -> Path:
    """A copy of ``export`` whose metadata (all three copies) went through ``change``."""
    shutil.copytree(export, target)
    for path in (target / "metadata.json", target / "savedmodel" / "assets" / "metadata.json"):
        meta = json.loads(path.read_text())
        change(meta)
        path.write_text(json.dumps(meta))
    model = onnx.load(str(target / "encoder.onnx"))
    for prop in model.metadata_props:
        if prop.key == "tfclica.metadata":
            meta = json.loads(prop.value)
            change(meta)
            prop.value = json.dumps(meta)
    onnx.save(model, str(target / "encoder.onnx"))
    return target


@pytest.mark.parametrize("where", ["export", "savedmodel", "encoder.onnx"])
def test_a_newer_format_version_is_refused_naming_both(fresh, tmp_path, where):
    _, out = fresh
    future = FORMAT_VERSION + 1

    def bump(meta):
        meta["format_version"] = future

    copy = _with_metadata(out, tmp_path / "future", bump)
    path = copy if where == "export" else copy / where
    load = read_metadata if where == "export" else load_encoder
    with pytest.raises(ConfigError) as info:
        load(path)
    message = str(info.value)
    assert f"format_version {future}" in message and f"format_version {FORMAT_VERSION}" in message
    assert "\n" not in message


def test_exports_keep_loading_when_keys_are_added(fresh, tmp_path):
    _, out = fresh
    x = np.full((3, 4), 0.5, np.float32)
    expected = load_encoder(out / "encoder.onnx")(x)

    def older(meta):  # written before a config key existed (here: eval_samples)
        del meta["config"]["eval_samples"]

    def newer(meta):  # written by a tfclica that added keys within the same version
        meta["config"]["future_setting"] = 1
        meta["future_section"] = {"anything": True}

    old = _with_metadata(out, tmp_path / "old", older)
    metrics = evaluate_model(old / "encoder.onnx", num_samples=256)
    assert metrics["eval_samples"] == 256 and metrics["format"] == "onnx"

    new = _with_metadata(out, tmp_path / "new", newer)
    for path in (new, new / "savedmodel", new / "encoder.onnx"):
        np.testing.assert_allclose(load_encoder(path)(x), expected, rtol=0, atol=1e-5)
    assert read_metadata(new)["future_section"] == {"anything": True}
    with pytest.raises(ConfigError, match="future_setting come from a newer tfclica"):
        evaluate_model(new / "encoder.onnx", num_samples=256)


def test_the_shipped_reference_is_a_readable_version():
    meta = read_metadata(REFERENCE)
    assert meta["format"] == "tfclica-export" and 1 <= meta["format_version"] <= FORMAT_VERSION
    assert load_encoder(REFERENCE, prefer="onnx").metadata["format_version"] == 1
