"""Presets: the paper's grid (issue rows, tables, order), matched flags, shared schedules, and
what `tfclica presets` prints."""

import pytest

from tfclica import presets
from tfclica.cli.main import main
from tfclica.config.experiment import SCHEDULE_KEYS
from tfclica.errors import ConfigError
from tfclica.presets import TABLES, all_presets, get_preset, table_rows
from tfclica.presets import preset as registry

# Every row of the grid: (table, space, marginal, conditional, conditional scale, loss, model p,
# tau, head, matched). Spelled out here so that a preset drifting from its row fails. Behind the
# learnable box head tau is free (the bound absorbs it); the L3 rows use 0.05^3 (paper.py).
GRID = [
    ("sphere", "sphere", "uniform", "vmf", 1.0, "cosine", None, 1.0, "sphere", True),
    ("sphere", "sphere", "uniform", "vmf", 10.0, "cosine", None, 0.1, "sphere", True),
    ("sphere", "sphere", "uniform", "vmf", 10.0, "cosine", None, 1.0, "sphere", False),
    ("sphere", "sphere", "uniform", "laplace", 0.05, "cosine", None, 0.1, "sphere", False),
    ("sphere", "sphere", "uniform", "normal", 0.05, "cosine", None, 0.1, "sphere", False),
    ("sphere", "sphere", "normal", "vmf", 1.0, "cosine", None, 1.0, "sphere", False),
    ("sphere", "box", "uniform", "normal", 0.05, "lp", 2.0, 1.0, "none", False),
    ("sphere", "box", "uniform", "laplace", 0.05, "lp", 2.0, 1.0, "none", False),
    ("box", "box", "uniform", "laplace", 0.05, "lp", 1.0, 1.0, "box", True),
    ("box", "box", "uniform", "gennorm", 0.05, "lp", 3.0, 0.05**3, "box", True),
    ("box", "box", "uniform", "normal", 0.05, "lp", 1.0, 1.0, "box", False),
    ("box", "box", "uniform", "normal", 0.05, "lp", 3.0, 0.05**3, "box", False),
    ("box", "box", "uniform", "normal", 0.05, "lp", 2.0, 1.0, "box", False),
    ("box", "unbounded", "laplace", "laplace", 0.05, "lp", 1.0, 1.0, "none", True),
    ("box", "unbounded", "laplace", "normal", 0.05, "lp", 2.0, 1.0, "none", False),
    ("box", "unbounded", "normal", "laplace", 0.05, "lp", 1.0, 1.0, "none", False),
    ("box", "unbounded", "normal", "normal", 0.05, "lp", 2.0, 1.0, "none", False),
]
# Names users' scripts and the docs already use.
EXISTING = [
    "default",
    "sphere-vmf-paper",
    "sphere-vmf1",
    "sphere-vmf10",
    "sphere-laplace",
    "sphere-normal",
    "box-normal",
    "box-laplace",
    "box-gennorm3",
    "unbounded-laplace-laplace",
    "unbounded-laplace-normal",
    "unbounded-normal-laplace",
    "unbounded-normal-normal",
]


def key(p):
    c = p.config
    model_p = c.model_p if c.loss == "lp" else None
    settings = (c.space, c.marginal, c.conditional, c.conditional_scale, c.loss, model_p)
    return (p.table, *settings, c.tau, c.head, p.matched)


def test_the_grid_is_the_issue_rows_in_table_order():
    got = [key(p) for table in TABLES for p in table_rows(table)]
    assert got == GRID
    for table in TABLES:
        assert [p.row for p in table_rows(table)] == list(range(1, len(table_rows(table)) + 1))
    assert get_preset("box-gennorm3").config.conditional_p == 3.0
    assert get_preset("sphere-normal-vmf1").config.marginal_scale == 1.0  # the reference's m-param
    with pytest.raises(ConfigError, match="table='cube'"):
        table_rows("cube")


def test_existing_names_keep_their_settings():
    assert {p.name for p in all_presets()} >= set(EXISTING)
    assert get_preset("default").config.conditional_scale == 10.0
    assert get_preset("box-normal").config.model_p == 2.0


def test_mismatched_rows_train_on_their_matched_neighbours_schedule():
    grid = [p for p in all_presets() if p.table]
    for p in grid:
        if p.matched:
            assert p.schedule_of == ""
            continue
        neighbour = get_preset(p.schedule_of)
        assert neighbour.matched and neighbour.table, p.name
        for k in SCHEDULE_KEYS:
            assert getattr(p.config, k) == getattr(neighbour.config, k), (p.name, k)
    assert get_preset("sphere-vmf10-tau1").schedule_of == "sphere-vmf10"  # same data, other tau


def test_every_preset_says_how_to_run_it_and_what_is_known():
    names = [p.name for p in all_presets()]
    assert len(names) == len(set(names)) == len(registry._PRESETS)
    for p in all_presets():
        assert p.why and "\n" not in p.why and "\n" not in p.description
        assert p.command == (
            "tfclica train" if p.name == "default" else f"tfclica train --preset {p.name}"
        )
        assert p.table in ("", *TABLES) and (p.row is None) == (p.table == "")
    measured = [p for p in all_presets() if p.measured is not None and not p.table]
    assert [p.name for p in measured] == ["default", "3dident"]  # outside the grid
    m = measured[0].measured
    assert (m.metric, m.value, m.minutes, m.date) == ("r2_linear_heldout", 0.990, 3.4, "2026-12-01")
    m = measured[1].measured
    assert (m.metric, m.value, m.minutes) == ("r2_linear_heldout", 0.925, 25.2)


def test_presets_prints_every_field_on_one_line_each(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["presets"])
    assert stop.value.code == 0
    header, *lines = capsys.readouterr().out.strip().splitlines()
    assert header.split() == ["name", "row", "match", "metric", "score", "min", "n", "command"]
    assert max(len(line) for line in lines) <= 120  # fits a terminal
    assert [line.split()[0] for line in lines] == [p.name for p in all_presets()]
    for line, p in zip(lines, all_presets()):
        fields = line.split()
        assert fields[1] == (f"{p.table}/{p.row}" if p.table else "-")
        assert fields[2] == ("yes" if p.matched else "no")
        assert line.endswith(f"  {p.command}")
        m = p.measured
        score = ["-", "-", "-"] if m is None else [f"{m.value:.3f}", f"{m.minutes:g}", str(m.seeds)]
        assert fields[-len(p.command.split()) - 3 : -len(p.command.split())] == score, p.name
    default = lines[0].split()
    assert default[:7] == ["default", "-", "yes", "R2", "0.990", "3.4", "1"]
    with pytest.raises(SystemExit):
        main(["presets", "--long"])
    long_lines = capsys.readouterr().out.splitlines()
    assert len(long_lines) == 1 + 4 * len(all_presets())
    assert long_lines[4] == "    measured: " + get_preset("default").expected


def test_register_refuses_inconsistent_presets(monkeypatch):
    monkeypatch.setattr(registry, "_PRESETS", dict(registry._PRESETS))
    with pytest.raises(ConfigError, match="already has row 1"):
        presets.register("x1", "x", matched=True, why="w", table="box", row=1)
    with pytest.raises(ConfigError, match="lr would override the schedule"):
        presets.register("x2", "x", matched=False, why="w", schedule_of="box-laplace", lr=1.0)
    with pytest.raises(ConfigError, match="is not matched"):
        presets.register("x3", "x", matched=False, why="w", schedule_of="box-normal")
    with pytest.raises(ConfigError, match="already registered"):
        presets.register("default", "x", matched=True, why="w")


def test_cpu_presets_train_the_small_encoder_and_the_paper_preset_the_references():
    from tfclica.presets import CPU_SCHEDULE

    for p in all_presets():
        if p.table or p.name == "default":
            assert p.config.encoder_widths == CPU_SCHEDULE["encoder_widths"] == (256, 256, 256)
    paper = get_preset("sphere-vmf-paper").config
    assert paper.encoder_widths is None and paper.hidden_widths == (100, 500, 500, 500, 500, 100)


def test_the_l1_box_rows_contrast_with_the_positives_and_the_others_with_the_anchors():
    # box-laplace's loss with the anchor itself among the candidates is smallest at a bent
    # encoder at batch 1024 (docs/RESULTS.md); its mismatched L1 neighbour follows it.
    contrast = {p.name: p.config.negatives for p in all_presets()}
    assert contrast.pop("box-laplace") == contrast.pop("box-normal-l1") == "positives"
    assert set(contrast.values()) == {"anchors"}


def test_every_grid_preset_states_the_full_tables_mean_over_its_records():
    from pathlib import Path

    from tfclica.experiments.tables import record_measurements
    from tfclica.presets.measured import CONDITIONS

    records = record_measurements(Path(__file__).parents[1] / "docs" / "results" / "full")
    for preset in [*table_rows("sphere"), *table_rows("box")]:
        if preset.name not in records:
            assert preset.measured is None, preset.name
            continue
        m = records[preset.name]
        stated = preset.measured
        assert stated is not None, preset.name
        assert (stated.metric, stated.value, stated.minutes, stated.seeds) == (
            m["metric"], m["value"], m["minutes"], m["seeds"]
        ), preset.name  # fmt: skip
        assert stated.pairs_per_second == m["pairs_per_second"] and stated.conditions == CONDITIONS


def test_the_readmes_main_job_figures_are_the_default_presets_measurement():
    from pathlib import Path

    readme = (Path(__file__).parents[1] / "README.md").read_text()
    intro = " ".join(readme.split("```bash")[0].split())  # the set-up paragraph, one line
    m = get_preset("default").measured
    assert f"{m.minutes:g} minutes" in intro
    assert f"held-out linear R² {m.value:.3f}" in intro and f"measured {m.date}" in intro
