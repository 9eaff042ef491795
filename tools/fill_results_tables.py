"""Copy the full tables into docs/RESULTS.md, rebuilt from the committed records.

``python tools/fill_results_tables.py`` runs ``tfclica reproduce --table all --seeds 3
--schedule full --collect --out docs/results/full`` (trains nothing: results.md, results.csv
and the pictures from the records) and puts its results.md between the ``full-tables`` markers
of docs/RESULTS.md. tests/test_reproduce.py checks that the two agree.
"""

from __future__ import annotations

from pathlib import Path

from tfclica.cli.main import main as tfclica
from tfclica.experiments import tables

ROOT = Path(__file__).resolve().parents[1]
RECORDS = Path("docs/results/full")  # relative: the command in the tables' header stays short


def main() -> None:
    import os

    os.chdir(ROOT)
    args = ["reproduce", "--table", "all", "--seeds", "3", "--schedule", "full", "--collect"]
    try:
        tfclica([*args, "--out", str(RECORDS)])
    except SystemExit as stop:
        if stop.code:
            raise
    results = ROOT / "docs" / "RESULTS.md"
    block = tables.results_block((RECORDS / "results.md").read_text())
    results.write_text(tables.fill_block(results.read_text(), block))
    print(f"wrote {results}")


if __name__ == "__main__":
    main()
