import json
import os
import subprocess
import sys

import pytest

from tfclica.cli.main import cli, main


def run_cli(args, tmp_path=None):
    """Run `tfclica ARGS` in a subprocess; returns (exit code, stdout, stderr)."""
    proc = subprocess.run(
        [sys.executable, "-m", "tfclica.cli.main", *args],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=600,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    return proc.returncode, proc.stdout, proc.stderr


def test_help_does_not_import_tensorflow():
    code = (
        "import sys\n"
        "from tfclica.cli.main import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit as e:\n    assert e.code == 0\n"
        "assert 'tensorflow' not in sys.modules, 'tfclica --help imported TensorFlow'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)


EVERY_COMMAND = (
    "train", "evaluate", "export", "encode", "sample", "render", "presets", "reproduce", "bench"
)  # fmt: skip


def test_every_command_is_listed_in_help_and_has_its_own_help(capsys):
    assert tuple(cli.commands) == EVERY_COMMAND
    with pytest.raises(SystemExit) as stop:
        main(["--help"])
    assert stop.value.code == 0
    listed = [line.split()[0] for line in capsys.readouterr().out.split("Commands:")[1]
              .strip().splitlines()]  # fmt: skip
    assert sorted(listed) == sorted(EVERY_COMMAND)
    for name in EVERY_COMMAND:
        with pytest.raises(SystemExit) as stop:
            main([name, "--help"])
        assert stop.value.code == 0, name
        assert f" {name} [OPTIONS]" in capsys.readouterr().out.splitlines()[0], name


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["train", "--preset", "no-such-preset"], "no-such-preset"),
        (["train", "--conditional-scale", "0"], "conditional_scale"),
        (["train", "--tau", "-1"], "tau"),
        (["train", "--steps", "0"], "--steps"),
        (["train", "--batch-size", "-5"], "--batch-size"),
        (["train", "--eval-samples", "0"], "--eval-samples"),
        (["train", "--space", "cube"], "cube"),
        (["train", "--config", "missing.toml"], "missing.toml"),
        (["reproduce", "--shard", "4/4", "--out", "runs"], "--shard '4/4'"),
        (["reproduce", "--rows", "no-such-row", "--out", "runs"], "no-such-row"),
        (["reproduce", "--collect", "--out", "no-such-dir"], "no-such-dir"),
        (["render", "-n", "0", "--out", "imgs"], "got 0"),
        (["render", "-n", "10", "--image-size", "3", "--out", "imgs"], "got 3"),
        (
            ["encode", "--model", "no-such.onnx", "--input", "x.npy", "--output", "z.npy"],
            "no-such.onnx",
        ),  # fmt: skip
    ],
)
def test_bad_input_gives_one_line_and_exit_2(args, needle, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    err = capsys.readouterr().err.strip().splitlines()
    assert exit_info.value.code == 2
    assert len(err) == 1 and err[0].startswith("Error:"), err
    assert needle in err[0]


def test_eval_samples_sets_the_size_of_the_evaluation(tmp_path):
    out = tmp_path / "run"
    main_args = ["train", "--dim", "3", "--steps", "2", "--batch-size", "32", "--eval-every", "2"]
    main_args += ["--lr-schedule", "constant", "--warmup-steps", "0"]
    with pytest.raises(SystemExit) as exit_info:
        main([*main_args, "--eval-samples", "300", "--out", str(out)])
    assert exit_info.value.code in (0, None)
    assert json.loads((out / "metrics.json").read_text())["eval_samples"] == 300
    assert "eval_samples = 300" in (out / "config.toml").read_text()


def test_unwritable_out_is_refused(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--steps", "1", "--warmup-steps", "1", "--out", str(blocker / "run")])
    err = capsys.readouterr().err.strip().splitlines()
    assert exit_info.value.code == 2 and len(err) == 1 and "run" in err[0]


def test_presets_lists_one_line_each(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["presets"])
    lines = capsys.readouterr().out.strip().splitlines()
    assert exit_info.value.code == 0
    assert lines[0].startswith("name ") and lines[1].startswith("default ")
    assert any(line.startswith("sphere-vmf-paper ") for line in lines)


def test_bench_json_prints_one_object_with_the_contract_fields():
    code, out, _ = run_cli(
        ["bench", "--json", "--batch-size", "64", "--steps", "1", "--repeats", "1"]
    )
    assert code == 0
    result = json.loads(out)  # the whole stdout is one JSON object
    required = {
        "steps_per_second",
        "samples_per_second",
        "model_gflops_per_step",
        "achieved_gflops",
        "gemm_peak_gflops",
        "batch_size",
    }
    assert required <= set(result) and result["batch_size"] == 64
    assert all(result[k] > 0 for k in required)
