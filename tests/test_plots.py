"""Pictures: each function writes a valid PNG of the stated size, atomically, from plain data."""

import os
import struct
import subprocess
import sys

import numpy as np
import pytest

from tfclica.errors import ConfigError
from tfclica.evaluation.plots import (
    plot_latents,
    plot_table_bars,
    plot_time_to_score,
    plot_training_curves,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(path) -> tuple[int, int]:
    """(width, height) from the IHDR chunk, which the PNG standard puts first."""
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE
    length, kind = struct.unpack(">I4s", data[8:16])
    assert kind == b"IHDR" and length == 13
    return struct.unpack(">II", data[16:24])


def _only_file(directory, name):
    # Atomic writes leave nothing behind but the picture itself.
    assert sorted(p.name for p in directory.iterdir()) == [name]


def _latents(num=1500, n=5, seed=0):
    z = np.random.default_rng(seed).uniform(-1, 1, size=(num, n))
    return z, np.tanh(z[:, ::-1] * 1.5) * 2.0 - 0.3


@pytest.mark.parametrize("alignment", ["linear", "permutation"])
def test_plot_latents_writes_a_png_of_the_stated_size(tmp_path, alignment):
    z, z_hat = _latents()
    z_hat[3, 1] = np.nan  # a degenerate sample must not stop the picture
    out = plot_latents(z, z_hat, tmp_path / "latents.png", alignment, figsize=(6, 4), dpi=50)
    assert png_size(out) == (300, 200)
    _only_file(tmp_path, "latents.png")


def test_plot_latents_default_size_grows_with_the_grid(tmp_path):
    z, z_hat = _latents(n=10)
    names = [f"factor {i}" for i in range(10)]
    out = plot_latents(z, z_hat, tmp_path / "l.png", "permutation", names, dpi=40)
    # 10 panels -> a 3 x 4 grid of 2.2-inch panels: 8.8 x 6.6 inches at 40 dpi.
    assert png_size(out) == (352, 264)


def test_plot_latents_refuses_bad_arguments(tmp_path):
    z, z_hat = _latents()
    with pytest.raises(ConfigError, match="alignment='orthogonal' is not one of"):
        plot_latents(z, z_hat, tmp_path / "x.png", "orthogonal")
    with pytest.raises(ConfigError, match="factor_names has 2 names for 5 latents"):
        plot_latents(z, z_hat, tmp_path / "x.png", factor_names=["a", "b"])
    with pytest.raises(ConfigError, match="does not exist"):
        plot_latents(z, z_hat, tmp_path / "missing" / "x.png")
    assert list(tmp_path.iterdir()) == []


def test_plot_training_curves(tmp_path):
    history = [
        {"step": s, "seconds": 0.5 * s, "loss": 7.0 - s / 100}
        | ({"r2_linear": s / 1000, "mcc_pearson": s / 1200} if s % 250 == 0 else {})
        for s in range(0, 1001, 10)
    ]
    history[1]["loss"] = None  # not measured at that point
    out = plot_training_curves(history, tmp_path / "curves.png", figsize=(8, 5), dpi=60)
    assert png_size(out) == (480, 300)
    linear = plot_training_curves(history, tmp_path / "c2.png", log_seconds=False, dpi=30)
    assert png_size(linear) == (300, 165)  # the default 10 x 5.5 inches


def test_plot_training_curves_refuses_an_entry_without_step(tmp_path):
    with pytest.raises(ConfigError, match=r"history\[1\] has no step"):
        plot_training_curves([{"step": 0, "seconds": 0}, {"seconds": 1.0}], tmp_path / "c.png")


def test_plot_table_bars(tmp_path):
    rows = [
        {
            "name": "sphere-vmf1",
            "identity": (0.67, 0.01),
            "supervised": (0.99, 0.0),
            "contrastive": (0.98, 0.01),
        },
        {
            "name": "box-gennorm3",
            "identity": (0.5, 0.02),
            "supervised": None,
            "contrastive": (-0.01, 0.02),
        },
        {
            "name": "nan-row",
            "identity": (float("nan"), 0.0),
            "supervised": (1.0, 0.2),
            "contrastive": None,
        },
    ]
    out = plot_table_bars(rows, tmp_path / "bars.png", "held-out $R^2$", figsize=(7, 4), dpi=80)
    assert png_size(out) == (560, 320)
    _only_file(tmp_path, "bars.png")


def test_plot_table_bars_refuses_a_bad_cell(tmp_path):
    rows = [{"name": "r", "identity": 0.5, "supervised": None, "contrastive": None}]
    with pytest.raises(ConfigError, match=r"rows\[0\]\['identity'\] is 0.5, not a \(mean, std\)"):
        plot_table_bars(rows, tmp_path / "b.png", "MCC")


def test_plot_time_to_score(tmp_path):
    rng = np.random.default_rng(0)
    seeds = [[(t, 1 - np.exp(-t / 30) + 0.01 * rng.normal()) for t in (0, 1, 5, 20, 80)]] * 3
    curves = {"sphere-vmf1 quick": seeds, "box-laplace quick": [[(2, 0.5), (9, 0.9)]], "x": [[]]}
    out = plot_time_to_score(curves, tmp_path / "t.png", "linear $R^2$", figsize=(5, 3), dpi=70)
    assert png_size(out) == (350, 210)


def test_a_failed_write_keeps_the_old_picture(tmp_path, monkeypatch):
    z, z_hat = _latents()
    target = plot_latents(z, z_hat, tmp_path / "l.png", dpi=20)
    before = target.read_bytes()
    from matplotlib.figure import Figure

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(Figure, "savefig", broken)
    with pytest.raises(OSError, match="disk full"):
        plot_latents(z, z_hat, target, dpi=20)
    assert target.read_bytes() == before
    _only_file(tmp_path, "l.png")


def test_importing_plots_does_not_import_matplotlib_or_scikit_learn():
    code = (
        "import sys, tfclica.evaluation.plots;"
        " print(sorted({'matplotlib', 'sklearn'} & set(sys.modules)))"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


# ----------------------------------------------------------------- what is drawn, not its size


@pytest.fixture
def drawn(monkeypatch):
    """The figures the plot functions save, kept for inspection (the PNG is still written)."""
    import tfclica.evaluation.plots as plots

    figures, save = [], plots._save
    monkeypatch.setattr(
        plots, "_save", lambda fig, path, dpi: figures.append(fig) or save(fig, path, dpi)
    )
    return figures


def _pixels(path) -> np.ndarray:
    from matplotlib.image import imread

    return imread(path)[..., :3]


def test_each_latent_panel_draws_its_samples_over_their_range(tmp_path, drawn):
    z, z_hat = _latents(num=400, n=3)
    out = plot_latents(z, z_hat, tmp_path / "l.png", "linear", dpi=40)
    axes = drawn[0].axes
    assert len(axes) == 3
    for i, ax in enumerate(axes):
        (points,) = ax.collections
        xy = np.asarray(points.get_offsets())
        np.testing.assert_allclose(xy[:, 0], z[:, i])  # every sample, against its true latent
        lo, hi = ax.get_xlim()
        assert lo <= z[:, i].min() and hi >= z[:, i].max()
        assert hi - lo < 1.2 * (z[:, i].max() - z[:, i].min())  # the data fill the panel
    # The picture is not blank: well over 1% of its pixels differ from the white background.
    assert np.mean(np.any(_pixels(out) < 0.9, axis=-1)) > 0.01


def test_table_bars_are_the_means_given(tmp_path, drawn):
    rows = [
        {"name": "a", "identity": (0.5, 0.1), "supervised": (0.9, 0.0), "contrastive": (0.8, 0.05)},
        {"name": "b", "identity": (0.2, 0.0), "supervised": None, "contrastive": (0.95, 0.01)},
    ]
    plot_table_bars(rows, tmp_path / "bars.png", "MCC", dpi=40)
    (ax,) = drawn[0].axes
    heights = sorted(round(p.get_height(), 6) for p in ax.patches)
    assert heights == sorted([0.5, 0.9, 0.8, 0.2, 0.95])  # one bar per measured cell
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b"]
    assert "n/a" in [t.get_text() for t in ax.texts]  # b's missing supervised cell


def test_training_curves_draw_the_history(tmp_path, drawn):
    history = [{"step": s, "seconds": 1.0 + s, "loss": 5.0 - s / 100} for s in range(0, 301, 10)]
    plot_training_curves(history, tmp_path / "c.png", dpi=30)
    lines = [line for ax in drawn[0].axes for line in ax.get_lines()]
    losses = [np.asarray(line.get_ydata(), float) for line in lines]
    expected = np.array([h["loss"] for h in history])
    assert any(len(y) == len(expected) and np.allclose(y, expected) for y in losses)


def test_time_to_score_draws_one_line_per_seed(tmp_path, drawn):
    curves = {"row": [[(1, 0.5), (10, 0.9)], [(2, 0.4), (20, 0.95)]]}
    plot_time_to_score(curves, tmp_path / "t.png", "R^2", dpi=30)
    ys = sorted(tuple(np.asarray(line.get_ydata(), float)) for ax in drawn[0].axes
                for line in ax.get_lines() if len(line.get_ydata()) == 2)  # fmt: skip
    assert (0.4, 0.95) in ys and (0.5, 0.9) in ys
