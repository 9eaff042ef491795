"""The full table's measurements of the grid: the mean over each row's recorded seeds.

Made from the records under docs/results/full/ (`tfclica reproduce --table all --seeds 3
--schedule full`) by `python tools/measurements_from_records.py`; tests/test_presets.py keeps the
two equal. Minutes are metrics.json's wall_seconds (the run from its first step to its scores,
both objectives); rows without a record are not measured.
"""

from tfclica.presets.preset import Measurement  # noqa: F401 (unused while no row has a record)

CONDITIONS = "2-core CPU, full table; docs/RESULTS.md says what else ran"

FULL_TABLE = {}
