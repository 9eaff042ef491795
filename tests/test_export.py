"""Export to SavedModel and ONNX: file contracts, metadata, parity, loaders and their errors."""

import json
import shutil
import subprocess
import sys

import keras
import numpy as np
import onnx
import pytest
import tensorflow as tf

from tfclica import __version__, rundir
from tfclica.cli.main import main
from tfclica.errors import ConfigError
from tfclica.evaluation.scoring import sample_observations
from tfclica.export import (
    EncoderInputError,
    ParityError,
    export_run,
    load_encoder,
    read_metadata,
)
from tfclica.export.parity import GENERATOR_TOLERANCE_ULP, max_ulp_error
from tfclica.latents import build_pair_sampler


@pytest.fixture(scope="module")
def exported(tmp_path_factory, make_run_dir):
    cfg, run_dir, mixing = make_run_dir(tmp_path_factory.mktemp("run") / "small-run")
    out = tmp_path_factory.mktemp("exports") / "small"
    metadata = export_run(run_dir, out, note="unit test")
    return cfg, run_dir, mixing, out, metadata


@pytest.fixture(scope="module")
def encoders(exported):
    _, run_dir, _, out, _ = exported
    return {
        "savedmodel": load_encoder(out / "savedmodel"),
        "onnx": load_encoder(out / "encoder.onnx"),
        "keras": load_encoder(run_dir / "encoder.keras"),
    }


def test_export_metadata_describes_the_run(exported):
    cfg, run_dir, mixing, out, metadata = exported
    on_disk = json.loads((out / "metadata.json").read_text())
    assert on_disk == json.loads(json.dumps(metadata))
    assert on_disk["tfclica_version"] == __version__
    assert on_disk["preset"] == "default" and on_disk["run_name"] == "small-run"
    assert (on_disk["space"], on_disk["head"]) == (cfg.space, cfg.head)
    assert on_disk["config"]["dim"] == 4 and on_disk["config"]["encoder_widths"] == [32, 64, 32]
    assert on_disk["input"] == {"name": "x", "shape": [None, 4], "dtype": "float32"}
    assert on_disk["output"] == {"name": "z_hat", "shape": [None, 4], "dtype": "float32"}
    assert on_disk["metrics"] == rundir.read_metrics(run_dir)
    assert on_disk["mixing_sha256"] == mixing.checksum()
    assert rundir.load_mixing(out).checksum() == mixing.checksum()
    assert on_disk["note"] == "unit test"
    # The embedded copies are the same metadata, less the parity figures measured afterwards.
    without_parity = {k: v for k, v in on_disk.items() if k != "parity"}
    assert json.loads((out / "savedmodel/assets/metadata.json").read_text()) == without_parity
    props = {p.key: p.value for p in onnx.load(str(out / "encoder.onnx")).metadata_props}
    assert json.loads(props["tfclica.metadata"]) == without_parity
    assert read_metadata(out / "encoder.onnx") == without_parity


def test_parity_figures_are_recorded_and_hold(exported):
    *_, metadata = exported
    parity = metadata["parity"]
    assert parity["samples"] == 10_000 and parity["tolerance"] == 1e-5
    assert set(parity["max_abs_diff"]) == {"savedmodel", "onnx"}
    assert all(0 <= d <= 1e-5 for d in parity["max_abs_diff"].values())


def test_savedmodel_serving_signature(exported):
    _, _, _, out, _ = exported
    signature = tf.saved_model.load(str(out / "savedmodel")).signatures["serving_default"]
    _, inputs = signature.structured_input_signature
    assert list(inputs) == ["x"] and inputs["x"].shape.as_list() == [None, 4]
    assert inputs["x"].dtype == tf.float32
    outputs = signature.structured_outputs
    assert sorted(outputs) == ["z_aligned", "z_hat", "z_permuted"]  # format_version 2
    assert all(spec.shape.as_list() == [None, 4] for spec in outputs.values())
    for batch in (1, 7):  # dynamic batch: one signature serves any batch size
        result = signature(x=tf.zeros([batch, 4]) + 0.5)
        assert all(value.shape == (batch, 4) for value in result.values())


def test_onnx_graph_contract(exported):
    _, _, _, out, _ = exported
    model = onnx.load(str(out / "encoder.onnx"))
    assert max(o.version for o in model.opset_import if o.domain in ("", "ai.onnx")) >= 17
    (x,), outputs = model.graph.input, model.graph.output
    assert x.name == "x" and [o.name for o in outputs] == ["z_hat", "z_aligned", "z_permuted"]
    for value in (x, *outputs):
        assert value.type.tensor_type.elem_type == onnx.TensorProto.FLOAT
        assert [d.dim_param or d.dim_value for d in value.type.tensor_type.shape.dim] == [
            "batch",
            4,
        ]


def test_every_format_computes_the_keras_encoder(exported, encoders):
    cfg, run_dir, mixing, out, _ = exported
    model = keras.saving.load_model(run_dir / "encoder.keras")
    _, x = sample_observations(build_pair_sampler(cfg), mixing, 3000, (11, 0))
    expected = model(x, training=False).numpy()
    # Unit-norm outputs of float32 matmuls: kernels differ only in summation order (~1e-7).
    for fmt, encoder in encoders.items():
        assert encoder.format == fmt and (encoder.input_dim, encoder.output_dim) == (4, 4)
        z_hat = encoder(x)
        assert z_hat.dtype == np.float32 and z_hat.shape == (3000, 4)
        np.testing.assert_allclose(z_hat, expected, rtol=0, atol=1e-5)
    # The shipped reference outputs are the Keras encoder's.
    with np.load(out / "reference_io.npz") as ref:
        np.testing.assert_allclose(model(ref["x"]).numpy(), ref["z_hat"], rtol=0, atol=1e-6)
        assert ref["x"].shape == ref["z"].shape == (256, 4)


def test_export_directory_and_run_directory_load(exported):
    _, run_dir, _, out, _ = exported
    assert load_encoder(out).format == "savedmodel"
    assert load_encoder(run_dir).format == "keras"
    with pytest.raises(ConfigError, match="no encoder"):
        load_encoder(out / "mixing")
    with pytest.raises(ConfigError, match="no such file"):
        load_encoder(out / "missing.onnx")


BAD_INPUTS = {
    "rank": (np.zeros(4, np.float32), r"1-D array of shape \(4,\).*x\[None, :\]"),
    "width": (np.zeros((2, 5), np.float32), r"width 5, expected 4"),
    "float64": (np.zeros((2, 4)), r"dtype float64.*astype"),
    "int": (np.zeros((2, 4), np.int32), r"dtype int32"),
    "empty": (np.zeros((0, 4), np.float32), r"empty batch"),
    "rank3": (np.zeros((2, 4, 1), np.float32), r"3-D array"),
}


@pytest.mark.parametrize("fmt", ["savedmodel", "onnx", "keras"])
@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_names_the_expected_shape(encoders, fmt, case):
    x, detail = BAD_INPUTS[case]
    with pytest.raises(EncoderInputError, match=r"float32 array of shape \[batch, 4\]") as info:
        encoders[fmt](x)
    assert info.match(detail)
    assert "\n" not in str(info.value)


def test_export_refuses_existing_target_unless_forced(exported, capsys):
    _, run_dir, _, out, _ = exported
    before = (out / "metadata.json").read_text()
    with pytest.raises(SystemExit) as stop:
        main(["export", str(run_dir), "--out", str(out), "--format", "onnx"])
    assert stop.value.code == 2
    assert "exists; use --force" in capsys.readouterr().err
    assert (out / "metadata.json").read_text() == before


def test_force_replaces_an_export(tmp_path, exported):
    _, run_dir, _, out, _ = exported
    target = tmp_path / "copy"
    shutil.copytree(out, target)
    metadata = export_run(run_dir, target, formats=("onnx",), force=True, note="second")
    assert not (target / "savedmodel").exists() and (target / "encoder.onnx").is_file()
    assert read_metadata(target)["note"] == "second" == metadata["note"]
    assert [p.name for p in tmp_path.iterdir()] == ["copy"]  # no temporary leftovers


def test_unfinished_run_is_a_usage_error(tmp_path, exported, capsys):
    _, run_dir, _, _, _ = exported
    unfinished = tmp_path / "unfinished"
    shutil.copytree(run_dir, unfinished)
    (unfinished / "encoder.keras").unlink()
    with pytest.raises(SystemExit) as stop:
        main(["export", str(unfinished), "--out", str(tmp_path / "out")])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert "not finished (no encoder.keras)" in err and err.count("\n") == 1
    assert not (tmp_path / "out").exists()


def test_parity_failure_exits_1_and_keeps_the_old_export(tmp_path, exported, monkeypatch, capsys):
    from tfclica.export import writer

    _, run_dir, _, out, _ = exported
    real_write_onnx = writer.write_onnx

    def write_perturbed_onnx(encoder, path, metadata_json, opset, **kwargs):
        # An exporter bug in miniature: the graph computes a slightly different encoder.
        clone = keras.models.clone_model(encoder)
        clone.set_weights([w + 1e-3 for w in encoder.get_weights()])
        real_write_onnx(clone, path, metadata_json, opset, **kwargs)

    monkeypatch.setattr(writer, "write_onnx", write_perturbed_onnx)
    target = tmp_path / "export"
    with pytest.raises(ParityError, match=r"onnx max \|diff\|"):
        export_run(run_dir, target)
    assert list(tmp_path.iterdir()) == []  # nothing half-written

    shutil.copytree(out, target)
    before = (target / "metadata.json").read_text()
    with pytest.raises(SystemExit) as stop:
        main(["export", str(run_dir), "--out", str(target), "--force"])
    assert stop.value.code == 1
    assert "parity check failed" in capsys.readouterr().err
    assert (target / "metadata.json").read_text() == before
    assert [p.name for p in tmp_path.iterdir()] == ["export"]


@pytest.mark.parametrize("head", ["learnable-sphere", "box", "linear-box", "standardize", "none"])
def test_every_head_exports_with_parity(tmp_path, head, make_run_dir):
    _, run_dir, _ = make_run_dir(tmp_path / f"run-{head}", head=head, seed=4)
    metadata = export_run(run_dir, tmp_path / "out")
    assert metadata["head"] == head
    assert all(d <= 1e-5 for d in metadata["parity"]["max_abs_diff"].values())
    # The trained head parameters (radius, box extent) travel in both formats.
    x = np.full((3, 4), 0.25, np.float32)
    keras_out = load_encoder(run_dir)(x)
    if head == "learnable-sphere":  # radius 1 * 1.7 + 0.3, set in make_run_dir
        np.testing.assert_allclose(np.linalg.norm(keras_out, axis=1), 2.0, rtol=1e-5)
    for name in ("savedmodel", "encoder.onnx"):
        np.testing.assert_allclose(load_encoder(tmp_path / "out" / name)(x), keras_out, atol=1e-5)


def test_force_never_replaces_something_that_is_not_an_export(exported):
    _, run_dir, _, _, _ = exported
    with pytest.raises(ConfigError, match="not a tfclica export"):
        export_run(run_dir, run_dir, force=True)
    assert (run_dir / "encoder.keras").is_file() and (run_dir / "config.toml").is_file()


def test_default_target_is_saved_models_run_name(exported, tmp_path, monkeypatch):
    _, run_dir, _, _, _ = exported
    monkeypatch.chdir(tmp_path)
    export_run(run_dir, formats=("onnx",))
    assert sorted(p.name for p in (tmp_path / "saved_models" / "small-run").iterdir()) == [
        "encoder.onnx",
        "metadata.json",
        "mixing",
        "reference_io.npz",
    ]


def test_package_face_and_loaders_without_tensorflow():
    # The names tfclica.export has always exported, and load_keras_encoder; importing the
    # loaders (what `tfclica encode` does for an ONNX export) must not import TensorFlow.
    code = (
        "import sys, tfclica.export as e\n"
        "from tfclica.export import load_encoder, read_metadata, evaluate_model, LoadedEncoder\n"
        "from tfclica.export.layout import ONNX_FILE\n"
        "assert 'tensorflow' not in sys.modules, 'tensorflow imported'\n"
        "print(' '.join(e.__all__))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == [
        "FORMATS",
        "EncoderInputError",
        "LoadedEncoder",
        "ParityError",
        "build_metadata",
        "evaluate_model",
        "export_run",
        "load_encoder",
        "load_keras_encoder",
        "read_metadata",
    ]


GENERATOR_FILES = ["g.onnx", "g_inverse.onnx", "g_savedmodel", "g_inverse_savedmodel"]


def _run_generator(path, values):
    """g or g_inverse from its file: z -> x or x -> z, float32."""
    name = path.name
    inverse = name.startswith("g_inverse")
    in_name, out_name = ("x", "z") if inverse else ("z", "x")
    if name.endswith(".onnx"):
        import onnxruntime as ort

        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        assert [i.name for i in session.get_inputs()] == [in_name]
        assert [o.name for o in session.get_outputs()] == [out_name]
        return session.run([out_name], {in_name: values})[0]
    signature = tf.saved_model.load(str(path)).signatures["serving_default"]
    return signature(**{in_name: tf.constant(values)})[out_name].numpy()


def test_generator_parity_is_recorded_and_exact(exported):
    *_, metadata = exported
    generator = metadata["parity"]["generator"]
    assert generator["samples"] == 10_000 and generator["tolerance_ulp"] == GENERATOR_TOLERANCE_ULP
    assert sorted(generator["max_ulp"]) == sorted(GENERATOR_FILES)
    # float64 inside, rounded once: half a float32 ulp (a float32 graph errs by several ulp).
    assert all(0 <= u <= GENERATOR_TOLERANCE_ULP for u in generator["max_ulp"].values())
    assert metadata["files"]["generator"]["g"] == {
        "input": "z",
        "output": "x",
        "savedmodel": "mixing/g_savedmodel",
        "onnx": "mixing/g.onnx",
    }


def test_generator_files_compute_g_and_its_inverse(exported):
    _, _, mixing, out, _ = exported
    # Fresh inputs beyond the data distribution (|z| up to ~15): exactness is not a property of
    # the parity samples alone.
    z = (np.random.default_rng(5).standard_normal((5000, 4)) * 4).astype(np.float32)
    x = mixing.numpy_forward(z).astype(np.float32)
    for name in GENERATOR_FILES:
        path = out / "mixing" / name
        if name.startswith("g_inverse"):
            got, expected = _run_generator(path, x), mixing.numpy_inverse(x)
        else:
            got, expected = _run_generator(path, z), mixing.numpy_forward(z)
        assert got.dtype == np.float32 and got.shape == (5000, 4)
        assert max_ulp_error(got, expected) <= GENERATOR_TOLERANCE_ULP, name
    # The check can fail: g in float32 (the training graph) is off by more than one ulp.
    assert max_ulp_error(mixing(tf.constant(z)).numpy(), mixing.numpy_forward(z)) > 1
    # And the pair inverts: g^-1(g(z)) = z up to the float32 rounding of x in between.
    round_trip = _run_generator(
        out / "mixing" / "g_inverse.onnx", _run_generator(out / "mixing" / "g.onnx", z)
    )
    np.testing.assert_allclose(round_trip, z, rtol=0, atol=1e-4)


def test_generator_files_carry_the_spec(exported):
    _, _, mixing, out, _ = exported
    spec = (out / "mixing" / "spec.json").read_text()
    assert json.loads(spec)["sha256"] == mixing.checksum()
    for name in ("g.onnx", "g_inverse.onnx"):
        model = onnx.load(str(out / "mixing" / name))
        assert {p.key: p.value for p in model.metadata_props}["tfclica.observations.mixing"] == spec
        dims = model.graph.input[0].type.tensor_type.shape.dim
        assert [d.dim_param or d.dim_value for d in dims] == ["batch", 4]
    for name in ("g_savedmodel", "g_inverse_savedmodel"):
        assert (out / "mixing" / name / "assets" / "spec.json").read_text() == spec
    assert rundir.load_mixing(out).checksum() == mixing.checksum()  # weights.npz still rules


def test_onnx_only_export_writes_onnx_generators(tmp_path, exported):
    _, run_dir, _, _, _ = exported
    metadata = export_run(run_dir, tmp_path / "onnx-only", formats=("onnx",))
    names = sorted(p.name for p in (tmp_path / "onnx-only" / "mixing").iterdir())
    assert names == ["g.onnx", "g_inverse.onnx", "spec.json", "weights.npz"]
    assert sorted(metadata["parity"]["generator"]["max_ulp"]) == ["g.onnx", "g_inverse.onnx"]


def test_an_inexact_generator_fails_parity(tmp_path, exported, monkeypatch):
    from tfclica.export import generator

    _, run_dir, _, _, _ = exported
    exact = generator.generator_function

    def float32_g(mixing, inverse=False):  # the training graph: float32 matmuls
        return exact(mixing, inverse) if inverse else (lambda z: mixing(z))

    monkeypatch.setattr(generator, "generator_function", float32_g)
    with pytest.raises(ParityError, match=r"mixing/g\.onnx [\d.e+]+ ulp > 0\.501") as info:
        export_run(run_dir, tmp_path / "export", formats=("onnx",))
    assert "g_inverse" not in str(info.value)
    assert list(tmp_path.iterdir()) == []
