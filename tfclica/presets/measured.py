"""The full table's measurements of the grid: the mean over each row's recorded seeds.

Made from the records under docs/results/full/ (`tfclica reproduce --table all --seeds 3
--schedule full`) by `python tools/measurements_from_records.py`; tests/test_presets.py keeps the
two equal. Minutes are metrics.json's wall_seconds (the run from its first step to its scores,
both objectives); rows without a record are not measured.
"""

from tfclica.presets.preset import Measurement  # noqa: F401 (unused while no row has a record)

CONDITIONS = "2-core CPU, full table"

FULL_TABLE = {
    "sphere-vmf1": Measurement(
        "r2_linear_heldout",
        0.844,
        3.8,
        "2026-12-07",
        CONDITIONS,
        seeds=1,
        pairs_per_second=75777.0,
    ),
    "sphere-vmf10": Measurement(
        "r2_linear_heldout",
        0.991,
        4.2,
        "2026-12-07",
        CONDITIONS,
        seeds=1,
        pairs_per_second=61430.0,
    ),
    "sphere-vmf10-tau1": Measurement(
        "r2_linear_heldout",
        0.998,
        3.9,
        "2026-12-07",
        CONDITIONS,
        seeds=1,
        pairs_per_second=66909.0,
    ),
    "sphere-laplace": Measurement(
        "r2_linear_heldout",
        0.998,
        3.2,
        "2026-12-07",
        CONDITIONS,
        seeds=1,
        pairs_per_second=83813.0,
    ),
    "sphere-normal": Measurement(
        "r2_linear_heldout",
        0.995,
        3.6,
        "2026-12-07",
        CONDITIONS,
        seeds=1,
        pairs_per_second=70811.0,
    ),
    "sphere-normal-vmf1": Measurement(
        "r2_linear_heldout",
        0.729,
        3.4,
        "2026-12-07",
        CONDITIONS,
        seeds=1,
        pairs_per_second=78503.0,
    ),
    "box-normal-unbounded-l2": Measurement(
        "r2_linear_heldout",
        0.993,
        4.2,
        "2026-12-07",
        CONDITIONS,
        seeds=1,
        pairs_per_second=73300.0,
    ),
    "box-laplace-unbounded-l2": Measurement(
        "r2_linear_heldout",
        0.993,
        3.9,
        "2026-12-07",
        CONDITIONS,
        seeds=1,
        pairs_per_second=81962.0,
    ),
    "box-laplace": Measurement(
        "mcc_pearson",
        0.984,
        6.5,
        "2026-12-07",
        CONDITIONS,
        seeds=1,
        pairs_per_second=44329.0,
    ),
}
