"""Export of image encoders: a rendered-images run and an image-folder run, each exported to
SavedModel and ONNX; parity with Keras, the input's documented scaling, evaluate and encode."""

import hashlib
import json
import shutil

import numpy as np
import pytest
import tensorflow as tf
from sklearn.metrics import r2_score

from tfclica import rundir
from tfclica.cli.main import main
from tfclica.data import image_folder
from tfclica.export import evaluate_model, load_encoder, load_keras_encoder
from tfclica.streams import Stream, seed_of

SIZE, IMAGES = 16, 160
TRAIN = [
    "train", "--preset", "3dident", "--image-size", str(SIZE), "--steps", "2",
    "--batch-size", "8", "--eval-every", "2", "--eval-samples", "64", "--steps-per-call", "2",
    "--objective", "unsupervised", "--warmup-steps", "0",
]  # fmt: skip


def _cli(*args) -> int:
    """``tfclica ARGS`` in this process; returns the exit code."""
    with pytest.raises(SystemExit) as stop:
        main([str(a) for a in args])
    return stop.value.code or 0


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """160 rendered 16x16 images in the 3DIdent layout."""
    out = tmp_path_factory.mktemp("dataset") / "set"
    image_folder.write_rendered_set(out, IMAGES, image_size=SIZE, seed=5)
    return out


def _train_and_export(tmp_path_factory, name, *extra):
    run = tmp_path_factory.mktemp("runs") / name
    assert _cli(*TRAIN, *extra, "--out", run) == 0
    out = tmp_path_factory.mktemp("exports") / name
    assert _cli("export", run, "--out", out) == 0
    return run, out, json.loads((out / "metadata.json").read_text())


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """``(run, export, metadata)`` of a 2-step CNN run on rendered images."""
    return _train_and_export(tmp_path_factory, "render")


@pytest.fixture(scope="module")
def on_folder(tmp_path_factory, folder):
    """``(run, export, metadata)`` of a 2-step CNN run on the image folder."""
    return _train_and_export(tmp_path_factory, "folder", "--dataset", folder)


def _check_parity(run, out, metadata, x=None):
    """Both formats match the Keras encoder on ``x`` (default: the export's own parity inputs,
    redrawn) within the recorded tolerances; returns ``{(file, output): max |diff|}``."""
    from tfclica.export.run_data import run_data

    parity = metadata["parity"]
    if x is None:
        cfg = rundir.load_config(run)
        _, x = run_data(cfg, run).observations(parity["samples"], Stream.PARITY)
    z_hat = load_encoder(run)(x).astype(np.float64)  # the Keras encoder
    a = np.array(metadata["alignment"]["z_aligned"]["A"])
    b = np.array(metadata["alignment"]["z_aligned"]["b"])
    expected = {"z_hat": z_hat, "z_aligned": z_hat @ a + b}
    diffs = {}
    for path in (out / "savedmodel", out / "encoder.onnx"):
        encoder = load_encoder(path)
        assert encoder.input_shape == (SIZE, SIZE, 3) and encoder.output_dim == 10
        got = encoder.encode_all(x)
        for name, values in expected.items():
            diffs[path.name, name] = diff = float(np.max(np.abs(got[name] - values)))
            assert diff <= parity["outputs"][name]["tolerance"], (path.name, name, diff)
    if len(x) == parity["samples"]:  # the parity inputs: the recorded figures, recomputed
        assert parity["base_tolerance"] == 1e-5 and "max |z_hat|" in parity["tolerance_rule"]
        assert parity["tolerance"] == pytest.approx(1e-5 * max(1.0, np.max(np.abs(z_hat))))
        for fmt, path in (("savedmodel", "savedmodel"), ("onnx", "encoder.onnx")):
            recorded = parity["max_abs_diff"][fmt]
            assert recorded <= parity["tolerance"]
            assert recorded == pytest.approx(diffs[path, "z_hat"], abs=1e-7)
    return diffs


def _input_section(metadata, mean, std):
    section = metadata["input"]
    assert section["shape"] == [None, SIZE, SIZE, 3] and section["dtype"] == "float32"
    assert section["layout"].startswith("channels_last")
    scaling = section["scaling"]
    assert scaling["formula"] == "x = (pixel / 255 - mean) / std"
    np.testing.assert_allclose(scaling["mean"], mean, rtol=0, atol=1e-9)
    np.testing.assert_allclose(scaling["std"], std, rtol=0, atol=1e-9)
    return scaling


def test_a_render_run_exports_and_matches_keras_on_rendered_images(rendered):
    from tfclica.observations.rendered import RenderedImages

    run, out, metadata = rendered
    parity = metadata["parity"]
    assert parity["samples"] == 1024 and "rendered" in parity["observations"]
    print("render parity", _check_parity(run, out, metadata))
    z = tf.random.stateless_uniform([48, 10], (7, 1), -1.0, 1.0)
    x = RenderedImages(SIZE)(z).numpy()
    # What RenderedImages produces: float32 in [0, 1], unquantised (so mean 0, std 1 above);
    # 8-bit images of it, fed as pixel / 255, are within half a level.
    scaling = _input_section(metadata, [0, 0, 0], [1, 1, 1])
    assert "RenderedImages" in scaling["note"]
    assert x.dtype == np.float32 and x.min() >= 0.0 and x.max() <= 1.0
    pixels = np.round(x * 255).astype(np.uint8)
    assert np.max(np.abs(pixels / 255 - x)) <= 1 / 510 + 1e-7
    # The renderer's spec travels (evaluate renders the same images); g is not a graph.
    assert metadata["files"]["mixing"] == "mixing" and "generator" not in metadata["files"]
    assert "renderer" in metadata["omitted"]["generator"]
    assert sorted(p.name for p in (out / "mixing").iterdir()) == ["spec.json", "weights.npz"]
    assert rundir.load_mixing(out).checksum() == metadata["mixing_sha256"]
    with np.load(out / "reference_io.npz") as ref:
        assert ref["x"].shape == (32, SIZE, SIZE, 3) and ref["z"].shape == (32, 10)
        keras_z = load_keras_encoder(run)(ref["x"], training=False).numpy()
        np.testing.assert_allclose(ref["z_hat"], keras_z, rtol=0, atol=1e-6)


def _folder_pixels(folder):
    """Every image of the folder as stored: uint8 ``[N, H, W, 3]``."""
    paths = image_folder.read_folder(folder).paths
    return np.stack([tf.io.decode_png(tf.io.read_file(p), channels=3).numpy() for p in paths])


def test_a_folder_run_exports_with_the_folders_scaling(on_folder, folder):
    run, out, metadata = on_folder
    pixels = _folder_pixels(folder)
    # The folder's statistics, computed here from its images, are the metadata's.
    values = pixels.astype(np.float64) / 255
    mean, std = values.mean(axis=(0, 1, 2)), values.std(axis=(0, 1, 2))
    scaling = _input_section(metadata, mean, std)
    assert "resize" not in scaling  # stored at the trained size
    # A user's scaling of raw images, as documented, is what the encoder was fed.
    x = ((pixels / 255 - np.array(scaling["mean"])) / np.array(scaling["std"])).astype(np.float32)
    with np.load(out / "reference_io.npz") as ref:
        assert ref["pixels"].dtype == np.uint8 and ref["pixels"].shape == (32, SIZE, SIZE, 3)
        scaled = (ref["pixels"] / 255 - np.array(scaling["mean"])) / np.array(scaling["std"])
        np.testing.assert_allclose(scaled, ref["x"], rtol=0, atol=1e-5)
    assert metadata["parity"]["samples"] == IMAGES  # every image: fewer than 1024
    print("folder parity", _check_parity(run, out, metadata))
    _check_parity(run, out, metadata, x[:64])  # the user's scaling of the raw images
    # No g: no mixing/, no generator, and the metadata says why and names the folder.
    assert not (out / "mixing").exists() and metadata["mixing_sha256"] is None
    assert "mixing" not in metadata["files"] and set(metadata["omitted"]) == {"mixing", "generator"}
    latents = np.load(folder / image_folder.LATENTS_FILE).astype(np.float32)
    assert metadata["dataset"] == {
        "path": str(folder.resolve()),
        "num_images": IMAGES,
        "stored_image_size": [SIZE, SIZE],
        "latents_sha256": hashlib.sha256(latents.tobytes()).hexdigest(),
    }


def test_a_folder_exports_alignment_is_the_final_evaluations(on_folder, folder):
    from tfclica.data.dataset import folder_pairs, open_dataset
    from tfclica.data.training_data import FolderData
    from tfclica.latents import build_pair_sampler

    run, out, metadata = on_folder
    cfg = rundir.load_config(run)
    folder = open_dataset(cfg)
    data = FolderData(folder_pairs(cfg, build_pair_sampler(cfg), folder), folder, cfg.image_size)
    _, _, z_test, x_test = data.evaluation_sets(64, seed_of(cfg.seed, Stream.FINAL_EVAL))
    z_aligned = load_encoder(out / "encoder.onnx")(x_test, "z_aligned")
    recorded = json.loads((run / "metrics.json").read_text())["r2_linear_heldout"]
    assert r2_score(z_test, z_aligned) == pytest.approx(recorded, abs=1e-4)


def test_evaluate_and_encode_work_on_image_exports(rendered, on_folder, tmp_path, capsys):
    for _, out, _ in (rendered, on_folder):
        scores = evaluate_model(out / "encoder.onnx", num_samples=64)
        assert scores["format"] == "onnx" and np.isfinite(scores["r2_linear_heldout"])
        assert len(scores["per_factor"]) == 10
    assert scores["identity"] is None  # the folder run: no g to score
    _, out, _ = on_folder
    z = tmp_path / "z.npy"
    assert _cli("encode", "--model", out, "--input", out / "reference_io.npz", "--output", z) == 0
    with np.load(out / "reference_io.npz") as ref:
        np.testing.assert_allclose(np.load(z), ref["z_hat"], rtol=0, atol=1e-5)
    capsys.readouterr()
    # Raw uint8 pixels would encode silently wrong: refused, naming the scaling.
    args = ["encode", "--model", out, "--input", out / "reference_io.npz", "--key", "pixels"]
    assert _cli(*args, "--output", tmp_path / "p.npy") == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "uint8 pixels" in err and "input.scaling" in err
    assert not (tmp_path / "p.npy").exists()


def test_export_without_an_encoder_or_a_folder_fails_in_one_line(
    rendered, on_folder, tmp_path, capsys
):
    run = tmp_path / "no-encoder"
    shutil.copytree(rendered[0], run)
    (run / rundir.ENCODER_FILE).unlink()
    capsys.readouterr()
    assert _cli("export", run, "--out", tmp_path / "e1") == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "encoder.keras" in err and "Traceback" not in err
    # A folder run whose folder is gone.
    moved = tmp_path / "no-folder"
    shutil.copytree(on_folder[0], moved)
    gone = str(tmp_path / "gone")
    rundir.save_config(moved, rundir.load_config(moved).replace(dataset=gone))
    assert _cli("export", moved, "--out", tmp_path / "e2") == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and gone in err and "Traceback" not in err
    assert not (tmp_path / "e1").exists() and not (tmp_path / "e2").exists()


def test_a_resized_folder_is_described_and_another_folder_refused(on_folder, folder, tmp_path):
    from tfclica.errors import ConfigError
    from tfclica.export.run_data import FolderData

    run, out, _ = on_folder
    cfg = rundir.load_config(run)
    # Trained at another size than stored: the loader resizes, and the metadata says how.
    scaling = FolderData(cfg.replace(image_size=2 * SIZE)).input_metadata()["scaling"]
    assert scaling["resize"]["from"] == [SIZE, SIZE] and scaling["resize"]["to"] == [32, 32]
    assert scaling["resize"]["method"].startswith("area")
    # evaluate on a folder with other latents (`--mixing FOLDER`) is refused, naming it.
    other = tmp_path / "other"
    shutil.copytree(folder, other)
    latents = np.load(other / image_folder.LATENTS_FILE)
    np.save(other / image_folder.LATENTS_FILE, latents[::-1].copy())
    with pytest.raises(ConfigError, match="not the one this encoder was trained on"):
        evaluate_model(out / "encoder.onnx", mixing=other, num_samples=64)
