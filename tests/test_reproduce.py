"""`tfclica reproduce`: planning, sharding, resuming, and the results tables (smoke schedule)."""

import csv
import json
import shutil
import statistics
import sys
from pathlib import Path

import pytest

from tfclica.errors import ConfigError
from tfclica.experiments import reproduce, schedules, tables


def _in_process_train(calls):
    """Run `tfclica train` in this process (no TF import per run) and record the arguments."""
    from tfclica.cli.main import main

    def train(args):
        calls.append(args)
        try:
            main(args)
        except SystemExit as stop:
            return int(stop.code or 0)
        return 0

    return train


def test_shards_partition_the_plan_exactly(tmp_path):
    rows = reproduce.table_rows("all")
    whole = reproduce.plan_runs(rows, 3, "quick", tmp_path)
    assert len(whole) == 3 * len(rows)
    parts = [reproduce.plan_runs(rows, 3, "quick", tmp_path, (i, 4)) for i in range(4)]
    outs = [r.out for part in parts for r in part]
    assert sorted(outs) == sorted(r.out for r in whole) and len(set(outs)) == len(whole)


def test_rows_are_ordered_and_bad_names_are_one_line_errors(tmp_path):
    sphere = reproduce.table_rows("sphere")
    assert sphere and all(p.table == "sphere" for p in sphere)
    assert [p.row for p in sphere] == sorted(p.row for p in sphere)
    with pytest.raises(ConfigError, match="not-a-row"):
        reproduce.select_rows("sphere", ["not-a-row"])
    with pytest.raises(ConfigError, match="--shard"):
        reproduce.parse_shard("4/4")
    with pytest.raises(ConfigError, match="--schedule"):
        reproduce.plan_runs(sphere, 1, "fast", tmp_path)


def test_list_prints_one_train_command_per_run(tmp_path, capsys):
    from tfclica.cli.main import main

    with pytest.raises(SystemExit) as stop:
        main(["reproduce", "--table", "box", "--seeds", "2", "--list", "--out", str(tmp_path)])
    assert stop.value.code == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[-1].startswith(f"# {2 * len(reproduce.table_rows('box'))} runs: about ")
    lines = lines[:-1]
    assert len(lines) == 2 * len(reproduce.table_rows("box"))
    assert all(line.startswith("tfclica train --preset ") for line in lines)
    assert all("--objective both" in line for line in lines)
    assert not any(tmp_path.iterdir())  # --list runs nothing


def test_quick_keeps_each_rows_tuned_schedule_and_shortens_the_baseline(tmp_path):
    tuned = ("--lr", "--lr-schedule", "--warmup-steps", "--output-init", "--tau", "--head")
    for run in reproduce.plan_runs(reproduce.table_rows("all"), 1, "quick", tmp_path):
        args = run.train_args()
        flags = dict(zip(args[1::2], args[2::2], strict=False))
        assert not set(tuned) & set(args), run.preset.name  # the preset's own values train
        assert (flags["--steps"], flags["--batch-size"], flags["--baseline-steps"]) == (
            "1500", "512", "750",
        )  # fmt: skip


def test_reference_schedule_overrides_every_rows_tuning_with_quicks_pairs(tmp_path):
    quick, reference = schedules.SCHEDULES["quick"], schedules.SCHEDULES["reference"]
    assert reference["steps"] * reference["batch_size"] == quick["steps"] * quick["batch_size"]
    for run in reproduce.plan_runs(reproduce.table_rows("all"), 1, "reference", tmp_path):
        args = run.train_args()
        flags = dict(zip(args[1::2], args[2::2], strict=False))
        assert (flags["--batch-size"], flags["--lr"], flags["--tau"]) == ("6144", "0.0001", "1.0")
        assert (flags["--lr-schedule"], flags["--output-init"]) == ("constant", "glorot")
        assert flags["--encoder-widths"] == "reference"
    for run in reproduce.plan_runs(reproduce.table_rows("box")[:1], 1, "paper", tmp_path):
        assert "--encoder-widths reference" in run.command()


@pytest.fixture(scope="module")
def smoke_table(tmp_path_factory):
    out = tmp_path_factory.mktemp("reproduce")
    rows = reproduce.table_rows("sphere")[:2]
    plan = reproduce.plan_runs(rows, 2, "smoke", out)
    calls, lines = [], []
    codes = reproduce.execute(plan, lines.append, _in_process_train(calls))
    summaries = tables.collect(rows, plan)
    tables.write_results(out, summaries, "smoke", "tfclica reproduce --schedule smoke")
    return out, rows, plan, summaries, codes, calls, lines


def test_table_columns_are_the_means_and_stds_of_the_runs(smoke_table):
    out, rows, plan, summaries, codes, _, lines = smoke_table
    assert set(codes.values()) == {0}
    assert any(line.startswith("[run 4/4]") for line in lines)
    table = list(csv.DictReader((out / "results.csv").open()))
    assert [r["row"] for r in table] == [p.name for p in rows]
    for row in table:
        runs = [json.loads((r.out / "metrics.json").read_text()) for r in plan
                if r.preset.name == row["row"]]  # fmt: skip
        assert len(runs) == 2 and int(row["finished"]) == 2
        for column, values in {
            "r2_heldout": [m["r2_linear_heldout"] for m in runs],
            "mcc": [m["mcc_pearson"] for m in runs],
            "identity_r2": [m["identity"]["r2_linear_heldout"] for m in runs],
            "supervised_r2": [m["supervised"]["r2_linear_heldout"] for m in runs],
        }.items():
            assert float(row[f"{column}_mean"]) == pytest.approx(statistics.mean(values))
            assert float(row[f"{column}_std"]) == pytest.approx(statistics.stdev(values))
    markdown = (out / "results.md").read_text()
    assert "## Table sphere" in markdown and all(p.name in markdown for p in rows)


def test_a_rerun_skips_finished_runs_and_resumes_started_ones(smoke_table):
    out, rows, plan, _, _, _, _ = smoke_table
    calls, lines = [], []
    assert reproduce.execute(plan, lines.append, _in_process_train(calls)) == {}
    assert calls == [] and lines[0] == "4 of 4 runs already finished"
    # A run killed after its config was written: the next call resumes it.
    interrupted = plan[0]
    (interrupted.out / "metrics.json").unlink()
    codes = reproduce.execute(plan, lines.append, _in_process_train(calls))
    assert codes == {interrupted.out: 0}
    assert calls == [["train", "--resume", "--out", str(interrupted.out)]]


def test_the_reference_and_paper_schedules_train_the_references_negatives(tmp_path):
    from tfclica.experiments.reproduce import PlannedRun
    from tfclica.presets import get_preset

    row = get_preset("box-laplace")  # its own preset contrasts with the positives
    assert row.config.negatives == "positives"
    for schedule in ("reference", "paper"):
        args = PlannedRun(row, 0, schedule, tmp_path).train_args()
        assert args[args.index("--negatives") + 1] == "anchors"
    assert "--negatives" not in PlannedRun(row, 0, "quick", tmp_path).train_args()


FIXTURE = Path(__file__).parent / "fixtures" / "reproduce-records"
FIXTURE_ROWS = "sphere-vmf1,sphere-vmf10"  # 2 seeds of the first, seed 0 only of the second


def test_collect_rebuilds_the_tables_from_records_and_trains_nothing(tmp_path, monkeypatch):
    from tfclica.cli.main import main

    out = tmp_path / "records"
    shutil.copytree(FIXTURE, out)
    before = sorted(p.relative_to(out) for p in out.rglob("*"))
    monkeypatch.setattr(reproduce, "execute", lambda *a, **k: pytest.fail("trained"))
    args = ["reproduce", "--table", "sphere", "--rows", FIXTURE_ROWS, "--seeds", "2"]
    with pytest.raises(SystemExit) as stop:
        main([*args, "--schedule", "smoke", "--collect", "--out", str(out)])
    assert stop.value.code == 0
    written = sorted(p.relative_to(out) for p in out.rglob("*"))
    assert set(written) - set(before) == {Path("results.csv"), Path("results.md"),
                                          Path("sphere.png")}  # fmt: skip
    table = {r["row"]: r for r in csv.DictReader((out / "results.csv").open())}
    for row, seeds in (("sphere-vmf1", 2), ("sphere-vmf10", 1)):
        runs = [json.loads((FIXTURE / row / f"seed{k}" / "metrics.json").read_text())
                for k in range(seeds)]  # fmt: skip
        assert int(table[row]["finished"]) == seeds and int(table[row]["seeds"]) == 2
        score = [m["r2_linear_heldout"] for m in runs]
        assert float(table[row]["score_mean"]) == pytest.approx(statistics.mean(score))
        assert float(table[row]["score_min"]) == pytest.approx(min(score))
    # smoke runs are far from the level; the missing seed is said, not called a failure
    assert table["sphere-vmf10"]["verdict"].endswith("(1 of 2 seeds)")
    assert "FAILED" not in (out / "results.md").read_text()


def test_verdicts_follow_the_level_the_seed_floor_and_the_baseline():
    base = dict(table="box", seeds=3, finished=3, failed=0, below_identity=0, collapsed=0)
    level = tables.LEVELS["box"]
    assert tables.verdict({**base, "score_mean": level, "score_min": 0.97}) == ("reaches the level")
    assert tables.verdict({**base, "score_mean": level, "score_min": 0.969}) == ("below the level")
    assert tables.verdict({**base, "score_mean": level - 1e-3, "score_min": 0.975}) == (
        "below the level"
    )
    below = {**base, "below_identity": 1, "score_mean": 0.99, "score_min": 0.99}
    assert tables.verdict(below) == "below identity"
    assert tables.verdict({**base, "finished": 0, "score_mean": None}) == "not run"
    assert tables.verdict({**base, "finished": 0, "failed": 1}) == "FAILED"


def test_list_estimates_each_run_from_its_measured_rate(tmp_path):
    from dataclasses import replace

    from tfclica.presets import Measurement, get_preset

    preset = get_preset("box-gennorm3")
    measured = Measurement("mcc_pearson", 0.98, 4.0, "2026-12-07", "test", 3, 50_000.0)
    run = reproduce.PlannedRun(replace(preset, measured=measured), 0, "full", tmp_path)
    cfg = preset.config
    expected = (
        cfg.steps * cfg.batch_size / 50_000.0
        + cfg.baseline_steps * cfg.batch_size / schedules.SUPERVISED_PAIRS_PER_SECOND
        + schedules.RUN_OVERHEAD_SECONDS
    )
    assert run.estimated_seconds() == pytest.approx(expected)
    lines = reproduce.list_lines([run, run])
    assert lines[0].endswith(f"# about {expected / 60:.1f} min")
    assert lines[-1].startswith(f"# 2 runs: about {2 * expected / 60:.0f} min")
    # the reference's widths train at another rate: no estimate from this one
    assert reproduce.PlannedRun(run.preset, 0, "reference", tmp_path).estimated_seconds() is None


def test_results_md_holds_the_full_tables_rebuilt_from_the_committed_records(tmp_path):
    from tfclica.cli.main import main

    root = Path(__file__).parents[1]
    records = tmp_path / "full"
    shutil.copytree(root / "docs" / "results" / "full", records)
    args = ["reproduce", "--table", "all", "--seeds", "3", "--schedule", "full", "--collect"]
    with pytest.raises(SystemExit) as stop:
        main([*args, "--out", str(records)])
    assert stop.value.code == 0
    rebuilt = (records / "results.md").read_text().replace(str(records), "docs/results/full")
    assert rebuilt == (root / "docs" / "results" / "full" / "results.md").read_text()
    document = (root / "docs" / "RESULTS.md").read_text()
    assert tables.fill_block(document, tables.results_block(rebuilt)) == document


@pytest.mark.skipif(sys.version_info < (3, 11), reason="PYTHONSAFEPATH needs Python 3.11")
def test_runs_use_the_installed_package_from_inside_a_checkout(tmp_path, monkeypatch):
    # A directory named tfclica in the working directory (a checkout of this repository, whose
    # tfclica/ has no cli/) must not shadow the package the runs are trained with.
    (tmp_path / "tfclica").mkdir()
    (tmp_path / "tfclica" / "__init__.py").write_text("raise ImportError('the shadow')\n")
    monkeypatch.chdir(tmp_path)
    assert reproduce._train_subprocess(["--help"]) == 0
