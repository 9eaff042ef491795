"""``keras.Model.fit`` against ``tfclica train``: the same preset, seed and steps both ways.

``python tools/fit_vs_train.py [--preset default] [--seed 0] [--steps N]`` trains the preset's
contrastive encoder once as ``tfclica train`` does (a :class:`tfclica.TrainingRun` into a
temporary run directory) and once as ``build_contrastive_model(cfg).fit(pairs_dataset(cfg))``,
scores both on the run's final evaluation sets (``Stream.FINAL_EVAL``) and prints the held-out
linear R^2, the MCC and the wall seconds of each. Speeds depend on what else runs on the cores.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="default")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=None, help="default: the preset's")
    args = parser.parse_args()

    import tfclica
    from tfclica.data.pairs_dataset import training_data_of
    from tfclica.evaluation.scoring import chunked_encoder, evaluate_on_data
    from tfclica.streams import Stream, seed_of

    cfg = tfclica.get_preset(args.preset).config.replace(seed=args.seed, objective="unsupervised")
    if args.steps:
        cfg = cfg.replace(steps=args.steps)

    start = time.perf_counter()
    run_dir = tfclica.prepare_run_dir(Path(tempfile.mkdtemp()) / "run")
    train = tfclica.TrainingRun(cfg, run_dir).fit()
    train_seconds = time.perf_counter() - start

    start = time.perf_counter()
    data = training_data_of(cfg)
    model = tfclica.build_contrastive_model(cfg, data)
    model.fit(tfclica.pairs_dataset(cfg, data=data), steps_per_epoch=cfg.steps, epochs=1, verbose=0)
    encode = chunked_encoder(model.encoder, tuple(data.observation_shape))
    sets = data.evaluation_sets(cfg.eval_samples, seed_of(cfg.seed, Stream.FINAL_EVAL))
    fit = evaluate_on_data(encode, data, sets)
    fit_seconds = time.perf_counter() - start

    print(f"{args.preset}, seed {args.seed}, {cfg.steps} steps at batch {cfg.batch_size}")
    for name, scores, seconds in (("tfclica train", train, train_seconds),
                                  ("model.fit", fit, fit_seconds)):  # fmt: skip
        print(f"  {name:14s} held-out R^2 {scores['r2_linear_heldout']:.4f}  "
              f"MCC {scores['mcc_pearson']:.4f}  {seconds:.0f} s")  # fmt: skip
    gap = fit["r2_linear_heldout"] - train["r2_linear_heldout"]
    print(f"  difference (fit - train): {gap:+.4f}")


if __name__ == "__main__":
    main()
