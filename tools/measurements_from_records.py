"""Write tfclica/presets/measured.py from the full table's committed records.

``python tools/measurements_from_records.py [--records docs/results/full] [--date YYYY-MM-DD]``
rewrites the module that gives each row of the paper's grid its ``Measurement``: the mean over
the seeds recorded (table score, wall minutes, training pairs/s). tests/test_presets.py checks
the module against the records, so a preset's stated score is always the table's.
"""

from __future__ import annotations

import argparse
import datetime
import subprocess
import sys
from pathlib import Path

from tfclica.experiments.tables import record_measurements

ROOT = Path(__file__).resolve().parents[1]
HEADER = '''"""The full table's measurements of the grid: the mean over each row's recorded seeds.

Made from the records under docs/results/full/ (`tfclica reproduce --table all --seeds 3
--schedule full`) by `python tools/measurements_from_records.py`; tests/test_presets.py keeps the
two equal. Minutes are metrics.json's wall_seconds (the run from its first step to its scores,
both objectives); rows without a record are not measured.
"""

from tfclica.presets.preset import Measurement  # noqa: F401 (unused while no row has a record)

CONDITIONS = "2-core CPU, full table"

FULL_TABLE = {
'''


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=Path, default=ROOT / "docs" / "results" / "full")
    parser.add_argument("--date", default=datetime.date.today().isoformat())
    parser.add_argument("--out", type=Path, default=ROOT / "tfclica" / "presets" / "measured.py")
    args = parser.parse_args()
    lines = [HEADER]
    for name, m in record_measurements(args.records).items():
        lines.append(
            f'    "{name}": Measurement(\n'
            f'        "{m["metric"]}", {m["value"]}, {m["minutes"]}, "{args.date}", CONDITIONS,\n'
            f"        seeds={m['seeds']}, pairs_per_second={float(m['pairs_per_second'])},\n"
            "    ),\n"
        )
    lines.append("}\n")
    args.out.write_text("".join(lines))
    # The module is code: formatted as the rest (ruff comes with the test extra).
    subprocess.run([sys.executable, "-m", "ruff", "format", "-q", str(args.out)], check=False)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
