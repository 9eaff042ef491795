"""The identity baseline of an image preset on its own evaluation sets: what the pixels score.

``python tools/pixel_baseline.py --preset 3dident [--seed 0] [--samples 2048]`` renders the
fit and held-out sets a run of that preset is scored on (its final evaluation's seed) and prints
the baseline's block of metrics.json (ridge on the pixels, cross-validated on the fit set) with
the least-squares scores the baseline had before (in-sample and held-out) beside it.
"""

from __future__ import annotations

import argparse
import json
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="3dident")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--samples", type=int, default=None, help="default: the preset's")
    args = parser.parse_args()

    from dataclasses import replace

    from tfclica.data.sources import build_observation_source
    from tfclica.evaluation.metrics import linear_r2
    from tfclica.evaluation.scoring import fit_and_heldout, identity_baseline
    from tfclica.latents import build_pair_sampler
    from tfclica.presets import get_preset
    from tfclica.streams import Stream, seed_of

    cfg = replace(get_preset(args.preset).config, seed=args.seed)
    n = args.samples or cfg.eval_samples
    sets = fit_and_heldout(
        build_pair_sampler(cfg),
        build_observation_source(cfg),
        n,
        seed_of(cfg.seed, Stream.FINAL_EVAL),
    )
    z_fit, x_fit, z_test, x_test = sets
    start = time.perf_counter()
    identity = identity_baseline(*sets)
    seconds = time.perf_counter() - start
    flat = lambda x: x.reshape(len(x), -1)  # noqa: E731
    least_squares = {
        "r2_linear": linear_r2(z_fit, flat(x_fit)),
        "r2_linear_heldout": linear_r2(z_fit, flat(x_fit), z_test, flat(x_test)),
    }
    print(
        json.dumps(
            {
                "preset": args.preset,
                "seed": args.seed,
                "samples": n,
                "pixels": int(flat(x_fit).shape[1]),
                "identity": identity,
                "least_squares": least_squares,
                "baseline_seconds": seconds,
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
