"""Time-to-score curves from run directories: score against training seconds (log scale).

Run:  python tools/plot_time_to_score.py --metric mcc_pearson --out docs/results/box-tts.png \
          --curve "box-laplace=runs/table/box-laplace/seed*" \
          --curve "box-gennorm3=runs/table/box-gennorm3/seed*"

Each ``--curve LABEL=GLOB`` is one colour; every run directory the glob matches (one per seed)
is one line, read from its ``evaluations.json`` (the evaluations during training, with the
training seconds at each). Directories without that file are reported and skipped.
"""

from __future__ import annotations

import argparse
import glob
import json
import sys
from pathlib import Path

from tfclica.evaluation.plots import plot_time_to_score

LABELS = {"r2_linear_heldout": "held-out linear R^2", "mcc_pearson": "MCC (Pearson)"}


def curves_from(specs: list[str], metric: str) -> dict[str, list[list[tuple[float, float]]]]:
    """``{label: [[(seconds, score), ...] per run]}`` for ``LABEL=GLOB`` specs."""
    curves = {}
    for spec in specs:
        label, _, pattern = spec.partition("=")
        if not pattern:
            raise SystemExit(f"--curve {spec!r} is not LABEL=GLOB")
        runs = []
        for run_dir in sorted(glob.glob(pattern)):
            history_file = Path(run_dir) / "evaluations.json"
            if not history_file.is_file():
                print(f"skipped {run_dir}: no evaluations.json", file=sys.stderr)
                continue
            history = json.loads(history_file.read_text())
            runs.append([(e["seconds"], e[metric]) for e in history])
        curves[label] = runs
    return curves


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--curve", action="append", required=True, help="LABEL=GLOB")
    parser.add_argument("--metric", choices=tuple(LABELS), default="r2_linear_heldout")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    curves = curves_from(args.curve, args.metric)
    print(plot_time_to_score(curves, args.out, LABELS[args.metric]))


if __name__ == "__main__":
    main()
