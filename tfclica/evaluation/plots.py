"""Pictures of a run and of a results table, written as PNG files.

Each function takes arrays or plain dicts and a path, draws with matplotlib's Agg backend (no
display, no global pyplot state) and writes the PNG atomically: a temporary file in the target's
directory, then ``os.replace``, so a reader never sees half a picture. matplotlib (and the
metrics it plots) are imported inside the functions, so importing this module stays cheap.
The picture is ``figsize * dpi`` pixels exactly (no tight bounding box).
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from tfclica.errors import ConfigError

ALIGNMENTS = ("linear", "permutation")
# Scatter panels draw at most this many samples: enough to show the shape of a relation, few
# enough that a 10-panel grid renders in well under a second.
MAX_SCATTER_POINTS = 2000
_COLOURS = {"identity": "#9e9e9e", "supervised": "#4c72b0", "contrastive": "#dd8452"}


def _figure(figsize, dpi, layout=None):
    # Panel grids are spaced by hand: constrained layout measures every tick label and took
    # ~5 s of a ~7 s 10-panel picture here (measured on the shared 2-core CPU).
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, dpi=dpi, layout=layout)
    FigureCanvasAgg(fig)
    return fig


def _small_axes(ax):
    ax.tick_params(labelsize=6)
    ax.locator_params(nbins=3)  # few ticks: small panels stay legible and fast to lay out


def _save(fig, path, dpi) -> Path:
    """Write ``fig`` to ``path`` as PNG, atomically (rendered in memory, then one rename)."""
    from tfclica.rundir import atomic_write_bytes

    path = Path(path)
    if not path.parent.is_dir():
        raise ConfigError(f"cannot write {path}: directory {path.parent} does not exist")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    atomic_write_bytes(path, buffer.getvalue())
    return path


def _plain_log_ticks(ax) -> None:
    """Label a log axis at 1, 2 and 5 times each decade, as plain numbers: a range shorter than
    a decade still gets labels, and the other minor labels, which overlap, are dropped."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    ax.xaxis.set_minor_formatter(NullFormatter())


def _grid(count: int) -> tuple[int, int]:
    cols = max(1, math.ceil(math.sqrt(count)))
    return math.ceil(count / cols), cols


def _aligned(z, z_hat, alignment: str):
    """``z`` predicted from ``z_hat`` by the alignment the metric uses, and a label per latent."""
    from tfclica.evaluation import metrics

    if alignment == "linear":
        a, b = metrics.linear_alignment(z, z_hat)
        with np.errstate(invalid="ignore", over="ignore"):
            pred = np.asarray(z_hat, np.float64) @ a + b
        labels = [f"$R^2$ {metrics.linear_r2(z[:, [i]], z_hat):.3f}" for i in range(z.shape[1])]
        return pred, labels, "linear fit"
    fit = metrics.permutation_alignment(z, z_hat)
    corr = np.abs(metrics.correlation_matrix(z, z_hat))
    with np.errstate(invalid="ignore", over="ignore"):
        pred = fit["sign"] * fit["scale"] * np.asarray(z_hat, np.float64)[:, fit["perm"]]
        pred = pred + fit["offset"]
    labels = [
        f"$\\hat z_{{{j}}}$, |corr| {corr[i, j]:.3f}" for i, j in enumerate(fit["perm"].tolist())
    ]
    return pred, labels, "matched, rescaled"


def plot_latents(
    z,
    z_hat,
    path,
    alignment: str = "linear",
    factor_names: Sequence[str] | None = None,
    *,
    figsize: tuple[float, float] | None = None,
    dpi: int = 100,
) -> Path:
    """Each true latent against its recovered dimension after the metric's alignment.

    A grid of small scatter panels, one per latent ``z_i``: horizontally ``z_i``, vertically
    its estimate from ``z_hat`` (the diagonal is perfect recovery). ``"linear"`` uses the affine
    map behind the linear R^2 (:func:`~tfclica.evaluation.metrics.linear_alignment`),
    ``"permutation"`` the Hungarian matching behind the MCC with a per-pair rescaling
    (:func:`~tfclica.evaluation.metrics.permutation_alignment`). Samples whose estimate is not
    finite are not drawn; at most :data:`MAX_SCATTER_POINTS` samples are.

    Args:
        z: true latents, ``[samples, n]``.
        z_hat: encodings, ``[samples, d]`` (``d >= n`` for ``"permutation"``).
        path: the PNG file to write (its directory must exist).
        alignment: ``"linear"`` or ``"permutation"``.
        factor_names: ``n`` names for the latents (default ``z_1 ... z_n``).
        figsize: inches (default 2.2 per panel); with ``dpi``, sets the pixel size.
        dpi: pixels per inch.

    Returns:
        The path written.
    """
    if alignment not in ALIGNMENTS:
        raise ConfigError(f"alignment={alignment!r} is not one of {', '.join(ALIGNMENTS)}")
    z = np.asarray(z, np.float64)
    pred, labels, how = _aligned(z, z_hat, alignment)
    n = z.shape[1]
    names = list(factor_names) if factor_names is not None else [f"$z_{{{i}}}$" for i in range(n)]
    if len(names) != n:
        raise ConfigError(f"factor_names has {len(names)} names for {n} latents")
    rows, cols = _grid(n)
    fig = _figure(figsize or (2.2 * cols, 2.2 * rows), dpi)
    fig.subplots_adjust(left=0.08, right=0.98, bottom=0.07, top=0.88, wspace=0.35, hspace=0.6)
    shown = slice(0, MAX_SCATTER_POINTS)
    for i in range(n):
        ax = fig.add_subplot(rows, cols, i + 1)
        x, y = z[shown, i], pred[shown, i]
        ax.scatter(x, y, s=2, alpha=0.3, linewidths=0, rasterized=True)
        lo, hi = float(np.min(x)), float(np.max(x))
        ax.plot([lo, hi], [lo, hi], color="black", linewidth=0.6, alpha=0.6)
        ax.set_title(f"{names[i]}: {labels[i]}", fontsize=7)
        _small_axes(ax)
    fig.suptitle(f"true (x) against recovered (y) latents, {alignment} alignment ({how})", size=8)
    return _save(fig, path, dpi)


def _series(history, key, xkey, positive_x=False):
    pairs = [(h[xkey], h.get(key)) for h in history]
    pairs = [
        (x, y)
        for x, y in pairs
        if y is not None and np.isfinite(y) and np.isfinite(x) and (x > 0 or not positive_x)
    ]
    return [p[0] for p in pairs], [p[1] for p in pairs]


def plot_training_curves(
    history: Sequence[Mapping],
    path,
    *,
    log_seconds: bool = True,
    figsize: tuple[float, float] = (10.0, 5.5),
    dpi: int = 100,
) -> Path:
    """Loss, linear R^2 and MCC of a run against steps (top row) and against seconds (bottom).

    Args:
        history: one dict per logged point with ``step`` and ``seconds`` (wall time since the
            start) and any of ``loss``, ``r2_linear``, ``mcc_pearson`` (missing or ``None``
            where not measured at that point, e.g. between evaluations).
        path: the PNG file to write.
        log_seconds: a log-scale seconds axis (points at 0 s are then left out).
        figsize: inches; with ``dpi``, sets the pixel size.
        dpi: pixels per inch.

    Returns:
        The path written.
    """
    for index, entry in enumerate(history):
        missing = [key for key in ("step", "seconds") if entry.get(key) is None]
        if missing:
            raise ConfigError(f"history[{index}] has no {' or '.join(missing)}: {dict(entry)}")
    fig = _figure(figsize, dpi)
    fig.subplots_adjust(left=0.07, right=0.98, bottom=0.1, top=0.96, wspace=0.3, hspace=0.4)
    panels = (("loss", "loss"), ("r2_linear", "linear $R^2$"), ("mcc_pearson", "MCC (Pearson)"))
    for row, (xkey, xlabel) in enumerate((("step", "steps"), ("seconds", "seconds"))):
        for col, (key, label) in enumerate(panels):
            ax = fig.add_subplot(2, 3, 3 * row + col + 1)
            log = xkey == "seconds" and log_seconds
            xs, ys = _series(history, key, xkey, positive_x=log)
            if xs:
                ax.plot(xs, ys, marker="." if len(xs) < 50 else None, linewidth=1)
            else:
                ax.text(0.5, 0.5, "not measured", ha="center", va="center", transform=ax.transAxes)
            if log and xs:
                ax.set_xscale("log")
                _plain_log_ticks(ax)
            if key != "loss":
                ax.set_ylim(min(0.0, *ys) if ys else 0.0, 1.02)
            ax.set_xlabel(xlabel + (" (log)" if log else ""), fontsize=8)
            ax.set_ylabel(label, fontsize=8)
            ax.tick_params(labelsize=7)
            ax.grid(alpha=0.3)
    return _save(fig, path, dpi)


def _mean_std(value, where: str):
    if value is None:
        return None
    try:
        mean, std = (float(v) for v in value)
    except (TypeError, ValueError):
        raise ConfigError(f"{where} is {value!r}, not a (mean, std) pair or None") from None
    return (mean, std) if np.isfinite(mean) else None


def plot_table_bars(
    rows: Sequence[Mapping],
    path,
    metric_label: str,
    *,
    figsize: tuple[float, float] | None = None,
    dpi: int = 100,
) -> Path:
    """A grouped bar chart: identity, supervised and contrastive score per row, with std bars.

    Args:
        rows: one dict per table row with ``name`` and ``identity``, ``supervised``,
            ``contrastive``, each a ``(mean, std)`` over seeds or ``None`` (not measured: no bar,
            marked "n/a").
        path: the PNG file to write.
        metric_label: the y-axis label (e.g. ``"held-out linear R^2"``).
        figsize: inches (default widens with the number of rows); with ``dpi``, the pixel size.
        dpi: pixels per inch.

    Returns:
        The path written.
    """
    from matplotlib.patches import Patch

    kinds = ("identity", "supervised", "contrastive")
    table = []
    for index, row in enumerate(rows):
        if "name" not in row:
            raise ConfigError(f"rows[{index}] has no name: {dict(row)}")
        table.append([_mean_std(row.get(k), f"rows[{index}][{k!r}]") for k in kinds])
    fig = _figure(figsize or (max(6.0, 0.9 * len(rows) + 2.0), 4.5), dpi, "constrained")
    ax = fig.add_subplot(1, 1, 1)
    width = 0.8 / len(kinds)
    low, high = 0.0, 1.05
    for k, kind in enumerate(kinds):
        for r, cell in enumerate(table):
            x = r + (k - 1) * width
            if cell[k] is None:
                ax.text(x, 0.01, "n/a", ha="center", va="bottom", fontsize=7)
                continue
            mean, std = cell[k]
            low, high = min(low, mean - std), max(high, mean + std)
            ax.bar(x, mean, width, yerr=std, capsize=2, color=_COLOURS[kind], ecolor="black")
    ax.set_xticks(range(len(table)), [str(row["name"]) for row in rows], rotation=30, ha="right")
    ax.set_ylim(low - 0.02 if low < 0 else 0.0, high)
    ax.axhline(0.0, color="black", linewidth=0.6)
    ax.set_ylabel(metric_label)
    ax.grid(axis="y", alpha=0.3)
    handles = [Patch(color=_COLOURS[kind], label=kind) for kind in kinds]
    ax.legend(handles=handles, fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return _save(fig, path, dpi)


def plot_time_to_score(
    curves: Mapping[str, Sequence[Sequence[Sequence[float]]]],
    path,
    metric_label: str,
    *,
    figsize: tuple[float, float] = (7.0, 4.5),
    dpi: int = 100,
) -> Path:
    """Score against wall time (log scale), one line per seed, one colour per label.

    Args:
        curves: maps a label (a setting, a schedule) to one list of ``(seconds, score)`` points
            per seed. Points at 0 s or with a non-finite score are left out.
        path: the PNG file to write.
        metric_label: the y-axis label.
        figsize: inches; with ``dpi``, sets the pixel size.
        dpi: pixels per inch.

    Returns:
        The path written.
    """
    fig = _figure(figsize, dpi, "constrained")
    ax = fig.add_subplot(1, 1, 1)
    colours = [f"C{i % 10}" for i in range(len(curves))]
    drawn = False
    for colour, (label, seeds) in zip(colours, curves.items()):
        named = False
        for points in seeds:
            pts = np.asarray(points, np.float64).reshape(-1, 2) if len(points) else np.zeros((0, 2))
            keep = (pts[:, 0] > 0) & np.isfinite(pts).all(1)
            if not keep.any():
                continue
            order = np.argsort(pts[keep, 0])
            xs, ys = pts[keep, 0][order], pts[keep, 1][order]
            ax.plot(xs, ys, color=colour, alpha=0.7, linewidth=1, label=None if named else label)
            named = drawn = True
    if drawn:
        ax.set_xscale("log")
        _plain_log_ticks(ax)
        ax.legend(fontsize=8)
    ax.set_xlabel("seconds (log)")
    ax.set_ylabel(metric_label)
    ax.grid(alpha=0.3, which="both")
    return _save(fig, path, dpi)


__all__ = [
    "ALIGNMENTS",
    "MAX_SCATTER_POINTS",
    "plot_latents",
    "plot_table_bars",
    "plot_time_to_score",
    "plot_training_curves",
]
