"""Score an encoder trained from a rendered folder on fresh renders of the same scene.

A folder run's own scores are on the folder's images (fit and held-out sets disjoint, but both
training images), so an encoder that memorised the folder scores high there. This renders new
images with the folder's renderer settings (``render.json``), quantises them to uint8 and
normalises them with the folder's per-channel statistics as the loader does, and prints the
held-out linear R^2 (affine map fitted on half, scored on the other half) and each factor's.

Run:  python tools/score_on_renders.py RUN_DIR FOLDER [--samples 4096] [--seed 0]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dir", type=Path, help="a run trained with --dataset FOLDER")
    parser.add_argument("folder", type=Path, help="the folder it was trained on")
    parser.add_argument("--samples", type=int, default=4096, help="fresh images (half fit)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    import keras
    import numpy as np
    import tensorflow as tf

    from tfclica.data.image_folder import read_folder
    from tfclica.evaluation.factor_scores import per_factor_scores
    from tfclica.evaluation.metrics import linear_r2
    from tfclica.evaluation.scoring import chunked_encoder
    from tfclica.observations.rendered import RenderedImages
    from tfclica.observations.renderer import to_uint8

    folder = read_folder(args.folder)  # the statistics the loader normalised with
    mean, std = (np.asarray(v, np.float32) for v in (folder.channel_mean, folder.channel_std))
    # The folder's own renderer (refused if this tfclica draws another scene version).
    spec = json.loads((args.folder / "render.json").read_text())["renderer"]
    source = RenderedImages.from_saved(spec, {})
    z = tf.random.stateless_uniform([args.samples, 10], [args.seed, 7], -1.0, 1.0)
    x = (to_uint8(source(z)).numpy().astype(np.float32) / 255.0 - mean) / std
    encoder = keras.models.load_model(args.run_dir / "encoder.keras", compile=False)
    h = chunked_encoder(encoder, x.shape[1:])(x)
    z, half = z.numpy(), args.samples // 2
    fit, test = (z[:half], h[:half]), (z[half:], h[half:])
    print(f"held-out linear R^2 on {args.samples} fresh renders: {linear_r2(*fit, *test):.4f}")
    for name, s in per_factor_scores(*fit, *test, source.factor_names).items():
        print(f"  {name:16s} {s['r2_linear_heldout']:.3f}")


if __name__ == "__main__":
    main()
