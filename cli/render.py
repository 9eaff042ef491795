"""``tfclica render``: write a 3DIdent-layout image set (images/, raw_latents.npy, render.json)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click


def _positive(ctx, param, value):
    if value is not None and value <= 0:
        raise click.BadParameter(f"must be a positive integer, got {value}")
    return value


class ImageProgress:
    """Images written so far on stderr: redrawn in place on a terminal, else a line per 10%."""

    def __init__(self, stream=None, width: int = 24):
        self.stream = stream or sys.stderr
        self.interactive = self.stream.isatty()
        self.width = width
        self.start = time.perf_counter()
        self.next_line = 0.0

    def __call__(self, done: int, total: int) -> None:
        frac = done / total
        if not self.interactive and frac < self.next_line and done < total:
            return
        self.next_line = frac + 0.1
        elapsed = time.perf_counter() - self.start
        rate = done / elapsed if elapsed > 0 else 0.0
        bar = "#" * int(self.width * frac) + "-" * (self.width - int(self.width * frac))
        line = f"[{bar}] {done}/{total} images  {rate:.0f} images/s  {elapsed:.0f} s"
        end = "\n" if (done == total or not self.interactive) else ""
        self.stream.write(("\r" if self.interactive else "") + line + end)
        self.stream.flush()


@click.command("render")
@click.option(
    "-n", "--num-images", type=int, required=True, callback=_positive, help="number of images N"
)
@click.option(
    "--out", type=click.Path(path_type=Path), required=True, help="folder to create (new or empty)"
)
@click.option(
    "--image-size",
    type=int,
    default=64,
    show_default=True,
    help="height and width in pixels",
)
@click.option("--seed", type=int, default=0, show_default=True, help="seed of the factors")
def command(num_images, out, image_size, seed):
    """Render N images of uniform factors in [-1, 1]^10 in the published 3DIdent layout:
    OUT/images/<index>.png, OUT/raw_latents.npy (one row per image), OUT/render.json."""
    from tfclica.config.experiment import IMAGE_SIZES
    from tfclica.errors import ConfigError

    low, high = IMAGE_SIZES
    if not low <= image_size <= high:
        raise ConfigError(f"--image-size must be in {low}..{high}, got {image_size}")
    if seed < 0:
        raise ConfigError(f"--seed must be a non-negative integer, got {seed}")
    from tfclica.data.image_folder import prepare_output

    prepare_output(Path(out))  # before TensorFlow: a bad --out fails fast
    from tfclica.cli.quiet import import_tensorflow_quietly

    import_tensorflow_quietly()
    from tfclica.data.image_folder import write_rendered_set

    start = time.perf_counter()
    write_rendered_set(Path(out), num_images, image_size, seed, on_progress=ImageProgress())
    seconds = time.perf_counter() - start
    click.echo(
        f"wrote {num_images} images of {image_size}x{image_size} to {out} in {seconds:.1f} s "
        f"({num_images / seconds:.0f} images/s)",
        err=True,
    )
