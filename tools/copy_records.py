"""Copy the small records of a grid's finished runs into the repository's results folder.

``python tools/copy_records.py RUNS_DIR DEST [--schedule full] [--seeds 3]``: for every run of
the paper's two tables under RUNS_DIR (``RUNS_DIR/<row>/seed<k>``, as ``tfclica reproduce
--out RUNS_DIR`` makes them) that has finished, writes its config.toml, evaluations.json and
metrics.json to ``DEST/<row>/seed<k>/`` (never the encoder, checkpoints or logs); records already
in DEST are kept. Then ``tfclica reproduce --schedule SCHEDULE --collect --out DEST`` rebuilds
the tables from DEST alone.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from tfclica.experiments import reproduce


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", type=Path)
    parser.add_argument("dest", type=Path)
    parser.add_argument("--schedule", default="full")
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    plan = reproduce.plan_runs(reproduce.table_rows("all"), args.seeds, args.schedule, args.runs)
    for path in reproduce.copy_records(plan, args.dest):
        print(path)


if __name__ == "__main__":
    main()
