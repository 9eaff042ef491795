"""``tfclica encode``: encode a file of observations with an exported encoder.

An export with ``encoder.onnx`` runs in onnxruntime, without importing TensorFlow (the command
starts in well under a second); a SavedModel-only export or a ``.keras`` file loads TensorFlow.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

# Show progress from this many rows on (below, encoding takes a moment at most).
_PROGRESS_ROWS = 200_000


class RowProgress:
    """``rows done/total``, rows/s and time left on stderr: redrawn in place on a terminal, one
    line per tenth of the input otherwise (logs, CI)."""

    def __init__(self, stream=None, width: int = 24):
        self.stream = stream or sys.stderr
        self.interactive = self.stream.isatty()
        self.width = width
        self._start = time.perf_counter()
        self._last, self._tenth = 0.0, 0

    def __call__(self, done: int, total: int) -> None:
        if total < _PROGRESS_ROWS:
            return
        now, finished = time.perf_counter(), done >= total
        tenth = 10 * done // total
        if self.interactive and not finished and now - self._last < 0.2:
            return
        if not self.interactive and not finished and tenth == self._tenth:
            return
        self._last, self._tenth = now, tenth
        elapsed = now - self._start
        rate = done / elapsed if elapsed > 0 else 0.0
        left = (total - done) / rate if rate else 0.0
        filled = self.width * done // total
        line = (
            f"[{'#' * filled}{'-' * (self.width - filled)}] {done:,}/{total:,} rows  "
            f"{rate:,.0f} rows/s  {left:.0f} s left"
        )
        if self.interactive:
            self.stream.write("\r" + line + ("\n" if finished else ""))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()


@click.command("encode")
@click.option(
    "--model",
    type=click.Path(path_type=Path),
    required=True,
    help="export directory, encoder.onnx, SavedModel directory or .keras file",
)
@click.option(
    "--input",
    "input_path",
    type=click.Path(path_type=Path),
    required=True,
    help="observations x [rows, d_x]: .npy, .npz (array --key) or .csv; an image encoder's: "
    "float [rows, H, W, 3] in .npy or .npz, scaled as metadata.json input.scaling says",
)
@click.option(
    "--output",
    "output_path",
    type=click.Path(path_type=Path),
    required=True,
    help="where to write the encodings: .npy, .npz or .csv (replaced atomically)",
)
@click.option(
    "--aligned",
    is_flag=True,
    help="write z_aligned (z_hat @ A + b: the true latents' coordinates, as the linear R^2 "
    "fits them) instead of z_hat",
)
@click.option(
    "--permuted",
    is_flag=True,
    help="write z_permuted (z_hat matched, sign-flipped and scaled as the MCC matches it)",
)
@click.option("--key", default="x", show_default=True, help="array of an .npz input")
@click.option(
    "--batch-size", type=int, default=8192, show_default=True, help="rows per step (memory)"
)
def command(model, input_path, output_path, aligned, permuted, key, batch_size):
    """Encode the observations in --input and write z_hat (or z_aligned, z_permuted) to --output.

    Reads and writes in chunks of --batch-size rows, so memory stays bounded for any file
    size; values are converted to float32 and must be finite. The output file appears only
    when every row was encoded. An .npz output holds one array named after the output
    (z_hat, z_aligned or z_permuted); a .csv output starts with a '#' line naming the columns.
    """
    if batch_size < 1:
        raise click.BadParameter(f"must be at least 1, got {batch_size}", param_hint="--batch-size")
    if aligned and permuted:
        raise click.UsageError("give --aligned or --permuted, not both")
    from tfclica.export.encode_file import encode_file
    from tfclica.export.layout import ALIGNED_NAME, OUTPUT_NAME, PERMUTED_NAME
    from tfclica.export.loaders import load_encoder, resolve_model_path

    fmt, _ = resolve_model_path(model, prefer="onnx")
    if fmt != "onnx":
        from tfclica.cli.quiet import import_tensorflow_quietly

        import_tensorflow_quietly()
    encoder = load_encoder(model, prefer="onnx")
    output = ALIGNED_NAME if aligned else PERMUTED_NAME if permuted else OUTPUT_NAME
    start = time.perf_counter()
    rows, width = encode_file(
        encoder, input_path, output_path, output, key, batch_size, progress=RowProgress()
    )
    seconds = time.perf_counter() - start
    click.echo(
        f"encoded {rows:,} rows with {encoder.format} -> {output}[{rows}, {width}] in "
        f"{output_path} ({seconds:.2f} s, {rows / max(seconds, 1e-9):,.0f} rows/s)",
        err=True,
    )
