"""`tfclica reproduce`: planning, sharding, resuming, and the results tables (smoke schedule)."""

import csv
import json
import statistics

import pytest

from tfclica import reproduce
from tfclica.errors import ConfigError


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
    quick, reference = reproduce.SCHEDULES["quick"], reproduce.SCHEDULES["reference"]
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
    summaries = reproduce.collect(rows, plan)
    reproduce.write_results(out, summaries, "smoke", "tfclica reproduce --schedule smoke")
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
    from tfclica.presets import get_preset
    from tfclica.reproduce import PlannedRun

    row = get_preset("box-laplace")  # its own preset contrasts with the positives
    assert row.config.negatives == "positives"
    for schedule in ("reference", "paper"):
        args = PlannedRun(row, 0, schedule, tmp_path).train_args()
        assert args[args.index("--negatives") + 1] == "anchors"
    assert "--negatives" not in PlannedRun(row, 0, "quick", tmp_path).train_args()
