"""Encode a file of observations with a loaded encoder, in bounded memory (``tfclica encode``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from tfclica.arrayfiles import ArrayReader, ArrayWriter
from tfclica.errors import ConfigError
from tfclica.export.layout import INPUT_NAME, OUTPUT_NAME
from tfclica.export.loaders import LoadedEncoder

DEFAULT_BATCH = 8192  # rows read, encoded and written per step


def encode_file(
    encoder: LoadedEncoder,
    input_path,
    output_path,
    output: str = OUTPUT_NAME,
    key: str = INPUT_NAME,
    batch_size: int = DEFAULT_BATCH,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[int, int]:
    """Encode every row of ``input_path`` and write the encodings to ``output_path``.

    The input is checked (type, shape, width, finite values) chunk by chunk before its
    encodings are written; the output appears only once every row was encoded, so a bad row or
    an interruption leaves no file behind (an existing ``output_path`` stays as it was).

    Args:
        encoder: from :func:`tfclica.export.load_encoder`.
        input_path: ``.npy``, ``.npz`` (array ``key``) or ``.csv`` of ``[rows, d_x]`` numbers
            (converted to float32); for an image encoder ``.npy`` or ``.npz`` of float
            ``[rows, H, W, 3]`` images, already scaled (metadata.json ``input.scaling``).
        output_path: ``.npy``, ``.npz`` (array named ``output``) or ``.csv``.
        output: which output of the encoder (``z_hat``, or ``z_aligned``/``z_permuted`` of an
            export that has them).
        key: the array to read from an ``.npz``.
        batch_size: rows per step (bounds memory).
        progress: called with ``(rows done, rows in all)`` after every step.

    Returns:
        ``(rows, width)`` of what was written.

    Raises:
        ConfigError: a bad file, shape, width or value, naming it (and the row or line).
    """
    input_path, output_path = Path(input_path), Path(output_path)
    if batch_size < 1:
        raise ConfigError(f"--batch-size must be at least 1, got {batch_size}")
    encoder.check_output(output)
    if output_path.resolve() == input_path.resolve():
        raise ConfigError(f"--output {output_path} is the input file; choose another")
    images = len(encoder.input_shape) > 1
    with ArrayReader(input_path, key=key, rank=1 + len(encoder.input_shape)) as reader:
        if reader.row_shape != encoder.input_shape:
            what = f"shape {reader.row_shape}" if images else f"width {reader.width}"
            raise ConfigError(
                f"{reader.source}: rows have {what}, but the encoder takes {encoder.input_text}"
            )
        if images and reader.dtype.kind in "biu":
            # Raw pixels converted to float32 would encode silently wrong: refuse them.
            raise ConfigError(
                f"{reader.source}: holds {reader.dtype} pixels; the encoder takes float32 images "
                "scaled as its metadata.json input.scaling says: (pixel / 255 - mean) / std"
            )
        with ArrayWriter(output_path, reader.rows, encoder.output_dim, output) as writer:
            for start, x in reader.chunks(batch_size):
                _check_finite(x, start, reader)
                writer.write(encoder(x, output, batch_size=batch_size))
                if progress is not None:
                    progress(start + len(x), reader.rows)
            writer.commit()
        return reader.rows, encoder.output_dim


def _check_finite(x: np.ndarray, start: int, reader: ArrayReader) -> None:
    finite = np.isfinite(x)
    if finite.all():
        return
    row, *col = (int(i) for i in np.argwhere(~finite)[0])
    where = "row" if reader.path.suffix.lower() != ".csv" else "data row"
    at = f"column {col[0]}" if len(col) == 1 else f"position {tuple(col)}"
    raise ConfigError(
        f"{reader.source}: {where} {start + row} (from 0), {at} is "
        f"{x[(row, *col)]} (after conversion to float32); every value must be finite"
    )
