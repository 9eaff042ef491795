"""`tfclica sample` and `tfclica presets`, run in-process."""

import numpy as np
import pytest

from tfclica.cli.main import main
from tfclica.observations.mixing import build_mixing
from tfclica.presets import all_presets


def run(argv, capsys):
    with pytest.raises(SystemExit) as stop:
        main(argv)
    out = capsys.readouterr()
    return stop.value.code, out.out, out.err


def test_sample_writes_pairs_and_their_observations(tmp_path, capsys):
    out = tmp_path / "pairs.npz"
    args = ["sample", "--preset", "box-laplace", "--dim", "4", "-n", "300", "--seed", "3"]
    code, _, err = run([*args, "--out", str(out)], capsys)
    assert code == 0, err
    with np.load(out) as f:
        arrays = {k: f[k] for k in f.files}
    assert set(arrays) == {"z", "z_tilde", "x", "x_tilde"}
    assert all(a.shape == (300, 4) and a.dtype == np.float32 for a in arrays.values())
    assert arrays["z"].min() >= 0.0 and arrays["z"].max() <= 1.0
    assert arrays["z_tilde"].min() >= 0.0 and arrays["z_tilde"].max() <= 1.0
    # x = g(z) with the g `tfclica train --seed 3` would draw (float32 vs float64 forward).
    g = build_mixing(4, 3, seed=3)
    np.testing.assert_allclose(arrays["x"], g.numpy_forward(arrays["z"]), atol=1e-5)
    np.testing.assert_allclose(arrays["x_tilde"], g.numpy_forward(arrays["z_tilde"]), atol=1e-5)
    # Reproducible; another seed gives other samples.
    again = tmp_path / "again.npz"
    assert run([*args, "--out", str(again)], capsys)[0] == 0
    with np.load(again) as f:
        np.testing.assert_array_equal(f["z_tilde"], arrays["z_tilde"])
    other = tmp_path / "other.npz"
    args[-1] = "4"
    assert run([*args, "--out", str(other)], capsys)[0] == 0
    with np.load(other) as f:
        assert not np.array_equal(f["z"], arrays["z"])


def test_sample_with_flags_only_on_a_radius_sphere(tmp_path, capsys):
    out = tmp_path / "s.npz"
    flags = ["--space", "sphere", "--radius", "2", "--conditional", "normal"]
    code, _, err = run(
        ["sample", *flags, "--conditional-scale", "0.05", "-n", "64", "--out", str(out)], capsys
    )
    assert code == 0, err
    with np.load(out) as f:
        np.testing.assert_allclose(np.linalg.norm(f["z_tilde"], axis=1), 2.0, rtol=1e-5)


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--space", "box", "--conditional", "vmf"], "vmf"),
        (["--conditional-scale", "0"], "kappa"),
        (["--space", "box", "--conditional", "gennorm", "--conditional-p", "-1"], "conditional_p"),
        (
            ["--box-low", "1", "--box-high", "0", "--space", "box", "--conditional", "normal"],
            "box_low",
        ),
        (["--space", "unbounded", "--conditional", "normal"], "uniform"),
        (["--marginal", "cauchy"], "cauchy"),
        (["--preset", "no-such"], "no-such"),
        (["-n", "0"], "-n"),
    ],
)
def test_bad_settings_exit_2_with_one_line(args, needle, tmp_path, capsys):
    argv = ["sample", "-n", "8", "--out", str(tmp_path / "x.npz"), *args]
    code, _, err = run(argv, capsys)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error:") and needle in lines[0]
    assert not (tmp_path / "x.npz").exists()


def test_presets_lists_every_preset_on_one_line(capsys):
    code, out, _ = run(["presets"], capsys)
    assert code == 0
    header, *lines = out.strip().splitlines()
    assert header.split()[0] == "name"
    assert [line.split()[0] for line in lines] == [p.name for p in all_presets()]
    assert {"sphere-vmf1", "box-gennorm3", "unbounded-normal-laplace"} <= {
        line.split()[0] for line in lines
    }
