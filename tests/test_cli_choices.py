"""Choice flags come from the config vocabularies; a bad one is one line and exit 2; what a
resumed run may change among the schedule keys."""

import pytest

from tfclica.cli.main import main
from tfclica.cli.train import RESUME_MAY_CHANGE
from tfclica.config.experiment import VOCABULARIES

SETTING_CHOICES = ["space", "marginal", "conditional", "loss", "head"]
TRAIN_CHOICES = [*SETTING_CHOICES, "strategy", "precision", "xla", "objective", "lr_schedule"]
CASES = (
    [("train", k) for k in TRAIN_CHOICES]
    + [("sample", k) for k in SETTING_CHOICES]
    + [("bench", k) for k in ("precision", "xla")]
)


def run(argv, capsys):
    with pytest.raises(SystemExit) as stop:
        main(argv)
    out = capsys.readouterr()
    return stop.value.code, out.out, out.err


def flag(key):
    return "--" + key.replace("_", "-")


@pytest.mark.parametrize(("command", "key"), CASES)
def test_a_bad_choice_is_one_line_naming_flag_and_value(command, key, tmp_path, capsys):
    extra = ["-n", "4", "--out", str(tmp_path / "x.npz")] if command == "sample" else []
    code, _, err = run([command, *extra, flag(key), "bogus"], capsys)
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith("Error:"), err
    assert flag(key) in lines[0] and "'bogus'" in lines[0]
    assert all(f"'{value}'" in lines[0] for value in VOCABULARIES[key])  # the values to pick
    assert not (tmp_path / "x.npz").exists()


@pytest.mark.parametrize(("command", "key"), CASES)
def test_help_lists_the_config_vocabulary(command, key, capsys):
    code, out, _ = run([command, "--help"], capsys)
    assert code == 0
    assert f"{flag(key)} [{'|'.join(VOCABULARIES[key])}]" in " ".join(out.split())


def test_schedule_flags_reach_the_config_and_bad_values_exit_2(tmp_path, capsys):
    code, _, err = run(["train", "--stop-at", "r2=2", "--out", str(tmp_path / "r")], capsys)
    assert code == 2 and "stop_at='r2=2'" in err and len(err.strip().splitlines()) == 1
    code, _, err = run(
        [
            "train",
            "--lr-schedule",
            "constant",
            "--warmup-steps",
            "10",
            "--out",
            str(tmp_path / "r"),
        ],
        capsys,
    )
    assert code == 2 and "warmup_steps=10 needs a warmup lr_schedule" in err
    assert not (tmp_path / "r").exists()


def test_resume_may_change_stop_at_but_not_how_the_run_trains(tmp_path, capsys):
    assert {
        "steps", "eval_every", "checkpoint_every", "strategy", "stop_at", "steps_per_call"
    } == RESUME_MAY_CHANGE  # fmt: skip
    out = tmp_path / "run"
    tiny = ["--dim", "3", "--steps", "2", "--batch-size", "32", "--eval-every", "2"]
    schedule = ["--lr-schedule", "warmup-cosine", "--warmup-steps", "1", "--clip-norm", "5"]
    code, _, err = run(
        ["train", *tiny, *schedule, "--eval-samples", "300", "--out", str(out)], capsys
    )
    assert code == 0, err
    text = (out / "config.toml").read_text()
    assert 'lr_schedule = "warmup-cosine"' in text and "clip_norm = 5.0" in text
    for change, needle in [
        (["--clip-norm", "1"], "--clip-norm"),
        (["--lr-schedule", "constant"], "--lr-schedule"),
        (["--adam-beta2", "0.99"], "--adam-beta2"),
        (["--steps", "4"], "decays over the run's 2 steps"),
    ]:
        code, _, err = run(["train", "--resume", "--out", str(out), *change], capsys)
        lines = err.strip().splitlines()
        assert code == 2 and len(lines) == 1 and needle in lines[0], (change, err)
    code, _, err = run(["train", "--resume", "--out", str(out), "--stop-at", "mcc=0.9"], capsys)
    assert code == 0, err
    assert 'stop_at = "mcc=0.9"' in (out / "config.toml").read_text()


def test_encoder_widths_flag_reaches_the_config_and_a_bad_list_exits_2(tmp_path, capsys):
    out = tmp_path / "run"
    tiny = ["--dim", "3", "--steps", "2", "--batch-size", "32", "--eval-every", "2"]
    tiny += ["--warmup-steps", "0"]
    code, _, err = run(
        ["train", *tiny, "--encoder-widths", "24,16", "--eval-samples", "300", "--out", str(out)],
        capsys,
    )
    assert code == 0, err
    assert "encoder_widths = [24, 16]" in (out / "config.toml").read_text()
    for bad in ["24,x", "0,16", ""]:
        code, _, err = run(["train", "--encoder-widths", bad, "--out", str(tmp_path / "b")], capsys)
        lines = err.strip().splitlines()
        assert code == 2 and len(lines) == 1 and "--encoder-widths" in lines[0], (bad, err)
        assert repr(bad) in lines[0]
    assert not (tmp_path / "b").exists()


def test_encoder_widths_reference_restores_the_reference_widths(tmp_path, capsys):
    out = tmp_path / "run"
    tiny = ["--dim", "3", "--steps", "2", "--batch-size", "32", "--eval-every", "2"]
    tiny += ["--warmup-steps", "0"]
    code, _, err = run(
        ["train", *tiny, "--encoder-widths", "reference", "--eval-samples", "300", "--out",
         str(out)], capsys,
    )  # fmt: skip
    assert code == 0, err
    assert "encoder_widths = [30, 150, 150, 150, 150, 30]" in (out / "config.toml").read_text()
