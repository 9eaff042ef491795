"""tools/time_to_score_table.py: counts, means and stds of the seconds to each threshold."""

import json
from pathlib import Path

import pytest
from tool_modules import load_tool


def _tool():
    return load_tool("time_to_score_table")


def _run(directory: Path, final: float, seconds_to_09: float | None) -> None:
    directory.mkdir(parents=True)
    hit = None if seconds_to_09 is None else {"step": 10, "seconds": seconds_to_09}
    metrics = {
        "r2_linear_heldout": final,
        "train_seconds": 100.0 + final,
        "time_to_score": {"r2_linear_heldout": {"0.9": hit, "0.95": None, "0.99": None}},
    }
    (directory / "metrics.json").write_text(json.dumps(metrics))


def test_row_counts_the_runs_that_reached_each_threshold(tmp_path):
    _run(tmp_path / "seed0", 0.92, 30.0)
    _run(tmp_path / "seed1", 0.95, 50.0)
    _run(tmp_path / "seed2", 0.80, None)
    header, cells = _tool().group_row("row", str(tmp_path / "seed*"), "r2_linear_heldout")
    assert header == ["runs", "s to 0.9", "s to 0.95", "s to 0.99", "final", "train s"]
    # 30 and 50 s: mean 40, sample std 14.1; the final scores 0.92, 0.95, 0.80: 0.890 ± 0.079
    assert cells == ["3", "2/3: 40 ± 14", "never", "never", "0.890 ± 0.079", "101 ± 0"]


def test_a_pattern_without_runs_is_an_error(tmp_path):
    with pytest.raises(SystemExit, match="no run directory"):
        _tool().group_row("row", str(tmp_path / "none*"), "r2_linear_heldout")
