"""Where does a run's encoder bend its latents: before its output head, or in it?

For a run directory of a synthetic (mixing) run, on fresh samples: the head's parameters, the
Pearson MCC of the encoder's outputs and of its pre-head outputs (the last Dense layer's)
against the true latents, the Spearman MCC of the outputs, and, for the first latent, the mean
output (over the head's extent, if it has one) binned by the latent in tenths.

Run:  OPENBLAS_NUM_THREADS=1 python tools/head_bend.py RUN_DIR [--samples 20000]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--samples", type=int, default=20000)
    args = parser.parse_args()

    import keras

    import tfclica.models.encoders  # noqa: F401  (registers the heads for loading)
    from tfclica.evaluation.metrics import mcc
    from tfclica.evaluation.scoring import sample_observations
    from tfclica.latents import build_pair_sampler
    from tfclica.rundir import load_config, load_mixing

    cfg = load_config(args.run_dir)
    encoder = keras.saving.load_model(args.run_dir / "encoder.keras")
    z, x = sample_observations(build_pair_sampler(cfg), load_mixing(args.run_dir), args.samples, 5)
    dense = [layer for layer in encoder.layers if isinstance(layer, keras.layers.Dense)][-1]
    pre_head = keras.Model(encoder.inputs, dense.output)
    h = encoder.predict(x, batch_size=4096, verbose=0)
    pre = pre_head.predict(x, batch_size=4096, verbose=0)
    head = encoder.layers[-1]
    extent = np.asarray(getattr(head, "bound", np.ones(h.shape[1])), np.float64)
    if hasattr(head, "bound"):
        print(f"head {type(head).__name__}: extent {np.round(extent, 2).tolist()}")
    print(f"Pearson MCC: outputs {mcc(z, h):.4f}, pre-head {mcc(z, pre):.4f}")
    print(f"Spearman MCC: outputs {mcc(z, h, method='spearman'):.4f}")
    corr = np.abs(np.corrcoef(z.T, h.T)[: z.shape[1], z.shape[1] :])
    j = int(corr[0].argmax())
    tenths = np.minimum(((z[:, 0] - z[:, 0].min()) / np.ptp(z[:, 0]) * 10).astype(int), 9)
    means = [float(h[tenths == k, j].mean() / extent[j]) for k in range(10)]
    print(f"latent 0 -> output {j}, mean output / extent by tenth of the latent:")
    print("  " + ", ".join(f"{m:.3f}" for m in means))


if __name__ == "__main__":
    main()
