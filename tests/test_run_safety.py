"""A run directory is never silently overwritten, restarted or left unreadable by bad input."""

import json
import os
import stat

import pytest

from tfclica import rundir
from tfclica.cli.main import main
from tfclica.errors import ConfigError
from tfclica.presets import get_preset
from tfclica.training import TrainingRun

TINY = dict(
    dim=3,
    encoder_widths=(8,),
    steps=1,
    batch_size=32,
    eval_every=1,
    checkpoint_every=1,
    eval_samples=64,
)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    run_dir = rundir.prepare_run_dir(tmp_path_factory.mktemp("safety") / "run")
    cfg = (
        get_preset("default").config.replace(lr_schedule="constant", warmup_steps=0).replace(**TINY)
    )
    metrics = TrainingRun(cfg, run_dir).fit()
    return cfg, run_dir, metrics


def one_line_error(capsys, args) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("Error:"), err
    return exit_info.value.code, err[0]


def test_one_step_run_reports_a_rate(tiny_run):
    assert tiny_run[2]["samples_per_second"] > 0
    assert tiny_run[2]["resumed_from_step"] == 0


def test_resume_refuses_changed_settings_and_keeps_the_config(tiny_run, capsys):
    _, run_dir, _ = tiny_run
    before = (run_dir / "config.toml").read_text()
    code, err = one_line_error(capsys, ["train", "--resume", "--out", str(run_dir), "--dim", "4"])
    assert code == 2 and "--dim" in err
    assert (run_dir / "config.toml").read_text() == before


def test_checkpoints_of_another_model_are_an_error_not_a_restart(tiny_run):
    cfg, run_dir, _ = tiny_run
    with pytest.raises(ConfigError, match="does not match"):
        TrainingRun(cfg.replace(head="learnable-sphere"), run_dir)
    assert rundir.load_config(run_dir).head == cfg.head


def test_new_run_refuses_a_non_empty_directory(tmp_path, capsys):
    (tmp_path / "leftover").write_text("x")
    code, err = one_line_error(
        capsys, ["train", "--steps", "1", "--warmup-steps", "1", "--out", str(tmp_path)]
    )
    assert code == 2 and "not empty" in err


def test_written_files_have_ordinary_permissions(tiny_run):
    _, run_dir, _ = tiny_run
    umask = os.umask(0)
    os.umask(umask)
    for name in ("config.toml", "metrics.json", "encoder.keras"):
        assert stat.S_IMODE((run_dir / name).stat().st_mode) == 0o666 & ~umask, name
    assert stat.S_IMODE((run_dir / "mixing").stat().st_mode) == 0o777 & ~umask


@pytest.mark.parametrize("line", ['encoder_widths = "abc"', "seed = true", 'box_low = "a"'])
def test_wrongly_typed_toml_values_are_one_line_errors(tmp_path, capsys, line):
    config = tmp_path / "c.toml"
    config.write_text(line + "\n")
    code, err = one_line_error(capsys, ["train", "--config", str(config), "--out", str(tmp_path)])
    assert code == 2 and line.split()[0] in err


def test_damaged_run_files_are_one_line_errors(tiny_run, tmp_path, capsys):
    import shutil

    _, run_dir, _ = tiny_run
    copy = tmp_path / "copy"
    shutil.copytree(run_dir, copy)
    (copy / "metrics.json").write_text("{not json")
    code, err = one_line_error(capsys, ["export", str(copy), "--out", str(tmp_path / "e")])
    assert code == 2 and "metrics.json" in err
    (copy / "metrics.json").write_text(json.dumps(tiny_run[2]))
    (copy / "mixing" / "weights.npz").write_bytes(b"garbage")
    code, err = one_line_error(capsys, ["evaluate", str(copy)])
    assert code == 2 and "mixing" in err
