"""The table of training seconds to each score threshold, from run directories' metrics.json.

Run:  python tools/time_to_score_table.py \
          --group "sphere-vmf1 (quick)=runs/quick/sphere-vmf1/seed*" \
          --group "sphere-vmf1 (reference)=runs/reference/sphere-vmf1/seed*"

Each ``--group LABEL=GLOB`` is one row: the runs (one per seed) its glob matches. Each threshold
column shows how many runs reached it and, over those, the mean ± std of the training seconds at
the first evaluation that did (``time_to_score`` of metrics.json); "never" when none did. The
final score and the training seconds (mean ± std over the runs) close the row. Prints Markdown.
"""

from __future__ import annotations

import argparse
import glob
import json
import statistics
import sys
from pathlib import Path

METRICS = {"r2": "r2_linear_heldout", "mcc": "mcc_pearson"}


def _mean_std(values: list[float], digits: int) -> str:
    if len(values) == 1:
        return f"{values[0]:.{digits}f}"
    return f"{statistics.mean(values):.{digits}f} ± {statistics.stdev(values):.{digits}f}"


def group_row(label: str, pattern: str, metric: str) -> tuple[list[str], list[str]]:
    """(header cells, row cells) of one group for ``metric`` (a metrics.json key)."""
    runs = []
    for run_dir in sorted(glob.glob(pattern)):
        path = Path(run_dir) / "metrics.json"
        if not path.is_file():
            print(f"skipped {run_dir}: no metrics.json", file=sys.stderr)
            continue
        runs.append(json.loads(path.read_text()))
    if not runs:
        raise SystemExit(f"--group {label!r}: no run directory with metrics.json matches {pattern}")
    thresholds = list(runs[0]["time_to_score"][metric])
    header = ["runs", *(f"s to {t}" for t in thresholds), "final", "train s"]
    cells = [str(len(runs))]
    for t in thresholds:
        hits = [r["time_to_score"][metric][t] for r in runs]
        seconds = [h["seconds"] for h in hits if h is not None]
        cells.append(f"{len(seconds)}/{len(runs)}: {_mean_std(seconds, 0)}" if seconds else "never")
    cells.append(_mean_std([r[metric] for r in runs], 3))
    cells.append(_mean_std([r["train_seconds"] for r in runs], 0))
    return header, cells


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--group", action="append", required=True, help="LABEL=GLOB")
    parser.add_argument("--metric", choices=sorted(METRICS), default="r2")
    args = parser.parse_args()
    metric = METRICS[args.metric]
    rows = []
    for spec in args.group:
        label, _, pattern = spec.partition("=")
        if not pattern:
            raise SystemExit(f"--group {spec!r} is not LABEL=GLOB")
        header, cells = group_row(label, pattern, metric)
        rows.append([label, *cells])
    print("| " + " | ".join([f"{metric}", *header]) + " |")
    print("|" + "---|" * (len(header) + 1))
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
