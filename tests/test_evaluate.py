"""`tfclica evaluate` and tfclica.export.evaluate_model on runs and on every export format."""

import json
import shutil

import keras
import pytest

from tfclica.cli.main import main
from tfclica.errors import ConfigError
from tfclica.evaluation.scoring import evaluate_encoder
from tfclica.export import evaluate_model, export_run
from tfclica.latents import build_pair_sampler
from tfclica.rundir import METRIC_KEYS

SAMPLES = 512


@pytest.fixture(scope="module")
def exported(tmp_path_factory, make_run_dir):
    cfg, run_dir, mixing = make_run_dir(tmp_path_factory.mktemp("run") / "eval-run", seed=5)
    out = tmp_path_factory.mktemp("exports") / "eval-export"
    export_run(run_dir, out)
    return cfg, run_dir, mixing, out


def test_every_format_gives_the_same_metrics(exported):
    cfg, run_dir, mixing, out = exported
    model = keras.saving.load_model(run_dir / "encoder.keras")
    direct = evaluate_encoder(
        lambda x: model(x, training=False).numpy(),
        build_pair_sampler(cfg),
        mixing,
        SAMPLES,
        seed=(cfg.seed, 3),
    )
    paths = {
        "run": run_dir,
        "keras": run_dir / "encoder.keras",
        "savedmodel": out / "savedmodel",
        "onnx": out / "encoder.onnx",
        "export": out,
    }
    recorded = json.loads((run_dir / "metrics.json").read_text())
    for name, path in paths.items():
        metrics = evaluate_model(path, num_samples=SAMPLES)
        assert set(metrics) >= METRIC_KEYS, name
        assert metrics["eval_samples"] == SAMPLES and metrics["eval_seed"] == [cfg.seed, 3]
        assert metrics["wall_seconds"] == recorded["wall_seconds"]  # describes the run
        # Every format computes the Keras encoder to 1e-5 (parity), which moves least-squares
        # R^2 and correlations on 512 samples by orders of magnitude less than 1e-4.
        for key in ("r2_linear", "r2_linear_heldout", "mcc_pearson", "mcc_spearman"):
            assert metrics[key] == pytest.approx(direct[key], abs=1e-4), (name, key)
        assert metrics["identity"] == pytest.approx(direct["identity"], abs=1e-12)


def test_a_different_mixing_is_refused(exported, tmp_path, make_run_dir):
    _, _, _, out = exported
    _, other_run, _ = make_run_dir(tmp_path / "other", seed=6)
    with pytest.raises(ConfigError, match="not the g this encoder was trained on"):
        evaluate_model(out / "encoder.onnx", mixing=other_run, num_samples=SAMPLES)


def test_a_lone_keras_file_needs_its_run(exported, tmp_path):
    _, run_dir, _, _ = exported
    lone = tmp_path / "lone.keras"
    shutil.copy(run_dir / "encoder.keras", lone)
    with pytest.raises(ConfigError, match="pass --mixing RUN_DIR"):
        evaluate_model(lone)
    metrics = evaluate_model(lone, mixing=run_dir, num_samples=SAMPLES)
    assert metrics["format"] == "keras" and metrics["preset"] == "default"


def test_cli_prints_and_writes_the_same_json(exported, tmp_path, capsys):
    _, _, _, out = exported
    target = tmp_path / "metrics.json"
    args = ["evaluate", "--model", str(out / "encoder.onnx"), "--samples", "256"]
    with pytest.raises(SystemExit) as stop:
        main([*args, "--seed", "9", "--out", str(target)])
    assert stop.value.code == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == json.loads(target.read_text())
    assert printed["format"] == "onnx" and printed["eval_seed"] == [9, 3]
    assert printed["eval_samples"] == 256 and set(printed) >= METRIC_KEYS


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["evaluate"], "either RUN_DIR or --model"),
        (["evaluate", "RUN", "--model", "M"], "either RUN_DIR or --model"),
        (["evaluate", "--model", "/no/such/model.onnx"], "no such file"),
        (["evaluate", "--model", "x.onnx", "--samples", "1"], "at least 2"),
    ],
)
def test_cli_usage_errors(args, needle, capsys):
    with pytest.raises(SystemExit) as stop:
        main(args)
    assert stop.value.code == 2
    assert needle in capsys.readouterr().err
