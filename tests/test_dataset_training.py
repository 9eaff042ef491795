"""`tfclica train --dataset DIR`: training and evaluating on a 3DIdent-layout image folder."""

import json
import shutil

import keras
import numpy as np
import pytest

from tfclica import rundir
from tfclica.cli.main import main
from tfclica.config.experiment import ExperimentConfig, to_toml
from tfclica.data import image_folder
from tfclica.errors import ConfigError
from tfclica.observations.renderer import FACTOR_NAMES
from tfclica.presets import get_preset

SIZE, IMAGES = 16, 240
TRAIN = [
    "train", "--preset", "3dident", "--image-size", str(SIZE), "--steps", "8",
    "--batch-size", "16", "--eval-every", "4", "--eval-samples", "64", "--steps-per-call", "4",
    "--objective", "unsupervised", "--lr-schedule", "constant", "--warmup-steps", "0",
]  # fmt: skip


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """240 rendered 16x16 images in the 3DIdent layout (the code `tfclica render` runs)."""
    out = tmp_path_factory.mktemp("dataset") / "set"
    image_folder.write_rendered_set(out, IMAGES, image_size=SIZE, seed=4)
    return out


def _train(*args):
    """``tfclica ARGS`` in this process; returns the exit code."""
    with pytest.raises(SystemExit) as stop:
        main(list(args))
    return stop.value.code or 0


@pytest.fixture(scope="module")
def run(folder, tmp_path_factory):
    """A finished 8-step run on the folder."""
    out = tmp_path_factory.mktemp("runs") / "run"
    assert _train(*TRAIN, "--dataset", str(folder), "--out", str(out)) == 0
    return out


def _folder_pairs(cfg):
    from tfclica.data.dataset import folder_pairs, open_dataset
    from tfclica.latents import build_pair_sampler

    return folder_pairs(cfg, build_pair_sampler(cfg), open_dataset(cfg))


def test_a_run_on_a_folder_scores_its_images(run, folder):
    from tfclica.data.training_data import FolderData
    from tfclica.evaluation.scoring import evaluate_on_data
    from tfclica.models.build import build_encoder

    metrics = json.loads((run / "metrics.json").read_text())
    cfg = rundir.load_config(run)
    assert cfg.dataset == str(folder.resolve())  # absolute in config.toml
    assert not (run / rundir.MIXING_DIR).exists()  # nothing rendered, no g
    assert (metrics["steps_done"], metrics["eval_samples"]) == (8, 64)
    assert [h["step"] for h in json.loads((run / "evaluations.json").read_text())] == [4, 8]
    # No identity baseline for a folder, and no flag pretends to compare with one.
    assert metrics["identity"] is None and "no identity baseline" in metrics["identity_note"]
    for key in ("below_identity", "below_identity_r2", "below_identity_mcc"):
        assert metrics[key] is None
    # Per-factor scores under the renderer's names; their means are the run's scores.
    per_factor = metrics["per_factor"]
    assert list(per_factor) == list(FACTOR_NAMES)
    r2 = np.mean([s["r2_linear_heldout"] for s in per_factor.values()])
    assert r2 == pytest.approx(metrics["r2_linear_heldout"], abs=1e-9)
    assert sorted(s["matched_dim"] for s in per_factor.values()) == list(range(10))
    # Every layer moved away from its initial (seeded) weights.
    initial = build_encoder(cfg, (SIZE, SIZE, 3))
    np.testing.assert_array_equal(
        initial.get_weights()[0], build_encoder(cfg, (SIZE, SIZE, 3)).get_weights()[0]
    )
    trained = keras.models.load_model(run / rundir.ENCODER_FILE)
    for before, after in zip(initial.get_weights(), trained.get_weights(), strict=True):
        assert not np.array_equal(before, after)
    # The final scores are the saved encoder's on two disjoint halves of one FINAL_EVAL draw.
    pairs = _folder_pairs(cfg)
    data = FolderData(pairs, pairs.folder, SIZE)
    sets = data.evaluation_sets(64, (cfg.seed, 2))
    z_fit, _, z_test, _ = sets
    assert not {tuple(r) for r in z_fit} & {tuple(r) for r in z_test}
    encode = lambda x: trained(x).numpy()  # noqa: E731
    again = evaluate_on_data(encode, data, sets)
    assert list(again["per_factor"]) == list(FACTOR_NAMES)
    for key in ("r2_linear", "r2_linear_heldout", "mcc_pearson", "mcc_spearman"):
        assert again[key] == pytest.approx(metrics[key], abs=1e-5)


def test_a_resumed_run_continues_from_its_checkpoint(run, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    before = json.loads((copy / "metrics.json").read_text())
    assert _train("train", "--resume", "--out", str(copy), "--steps", "12") == 0
    metrics = json.loads((copy / "metrics.json").read_text())
    assert (metrics["resumed_from_step"], metrics["steps_done"]) == (8, 12)
    history = json.loads((copy / "evaluations.json").read_text())
    assert [h["step"] for h in history] == [4, 8, 12]
    assert history[:2] == json.loads((run / "evaluations.json").read_text())
    assert metrics["r2_linear_heldout"] != before["r2_linear_heldout"]  # trained on
    # The pipeline is keyed by the step: 8 + 4 steps are exactly 12 steps in one go.
    from tfclica.training import TrainingRun

    cfg = rundir.load_config(copy)
    straight = TrainingRun(cfg, rundir.prepare_run_dir(tmp_path / "straight"))
    straight.run_steps()
    resumed = keras.models.load_model(copy / rundir.ENCODER_FILE).get_weights()
    for a, b in zip(straight.encoder.get_weights(), resumed, strict=True):
        np.testing.assert_array_equal(a, b)


def _bad_folders(tmp_path, folder):
    (tmp_path / "empty").mkdir()
    return {
        "missing": (["--dataset", "/nonexistent"], "/nonexistent"),
        "mlp": (["--dataset", str(folder), "--encoder", "mlp"], "got 'mlp'"),
        "eval-samples": (["--dataset", str(folder), "--eval-samples", "121"], "eval_samples=121"),
        "dim": (["--dataset", str(folder), "--dim", "4"], "dim=4"),
        "layout": (["--dataset", str(tmp_path / "empty")], "raw_latents.npy"),
    }


@pytest.mark.parametrize("case", ["missing", "mlp", "eval-samples", "dim", "layout"])
def test_bad_datasets_give_one_line_exit_2_and_write_nothing(case, folder, tmp_path, capsys):
    args, needle = _bad_folders(tmp_path, folder)[case]
    out = tmp_path / "run"
    assert _train(*TRAIN, *args, "--out", str(out)) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error:") and needle in lines[0], lines
    assert args[1] in lines[0]  # names the folder
    assert not out.exists()


def test_the_supervised_baseline_trains_on_the_folder_pairs(folder, tmp_path):
    from tfclica.training import TrainingRun

    cfg = get_preset("3dident").config.replace(
        dataset=str(folder), image_size=SIZE, batch_size=16, steps=2, steps_per_call=2,
        eval_every=2, eval_samples=40, objective="both", warmup_steps=0,
    )  # fmt: skip
    metrics = TrainingRun(cfg, rundir.prepare_run_dir(tmp_path / "run")).fit()
    supervised = metrics["supervised"]
    assert supervised["identity"] is None and list(supervised["per_factor"]) == list(FACTOR_NAMES)
    assert (tmp_path / "run" / "encoder_supervised.keras").is_file()
    assert supervised["r2_linear_heldout"] != metrics["r2_linear_heldout"]


def test_images_are_resized_only_where_the_stored_size_differs(folder):
    cfg = get_preset("3dident").config.replace(
        dataset=str(folder), image_size=SIZE, eval_samples=64
    )
    assert _folder_pairs(cfg).image_size is None  # stored at 16: read as they are
    pairs = _folder_pairs(cfg.replace(image_size=24))
    z, x = pairs.sample_images(3, (0, 9))
    assert pairs.image_size == 24 and x.shape == (3, 24, 24, 3) and z.shape == (3, 10)


def test_dataset_needs_an_image_encoder_and_is_stored_absolute(folder, monkeypatch):
    monkeypatch.chdir(folder.parent)
    cfg = get_preset("3dident").config.replace(dataset=folder.name)
    assert cfg.dataset == str(folder.resolve())
    assert f'dataset = "{folder.resolve()}"' in to_toml(cfg)
    with pytest.raises(ConfigError, match="holds images.*got 'mlp'"):
        cfg.replace(encoder="mlp")
    # A dataset replaces the renderer: its dimension and range are the folder's, not 10 in a box.
    assert ExperimentConfig(dataset=str(folder), encoder="cnn", dim=10).observations == "mixing"
