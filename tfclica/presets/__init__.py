"""Named experiments (``--preset NAME``): what a preset is, and the project's presets.

from tfclica.presets import get_preset, all_presets, table_rows
get_preset("sphere-vmf1").config          # the ExperimentConfig
[p.name for p in table_rows("box")]       # the paper's box table, in row order
"""

from tfclica.presets.paper import CPU_SCHEDULE, PAPER_SCHEDULE  # registers the presets
from tfclica.presets.preset import (
    TABLES,
    Measurement,
    Preset,
    all_presets,
    get_preset,
    register,
    table_rows,
)

__all__ = [
    "CPU_SCHEDULE",
    "PAPER_SCHEDULE",
    "TABLES",
    "Measurement",
    "Preset",
    "all_presets",
    "get_preset",
    "register",
    "table_rows",
]
