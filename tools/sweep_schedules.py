"""Sweep training schedules of one preset and tabulate time-to-score (issue: fast identifiability).

Run:  python tools/sweep_schedules.py --preset sphere-vmf1 --out runs/sweep \
          --variant "lr=1e-3" --variant "lr=1e-3,lr_schedule=warmup-cosine,warmup_steps=200" \
          [--seeds 1] [--steps 3000] [--stop-at r2=0.99]

Each variant is a comma-separated list of config keys (``key=value``, as in config.toml; a list
value is written with ``/``: ``encoder_widths=256/256/256``) applied on top of the preset; each
(variant, seed) is an ordinary ``tfclica train`` run directory under
``OUT/<preset>/<variant>/seed<k>`` (finished ones are not rerun). The summary, printed and
written to ``OUT/<preset>/sweep.md``, covers every variant ever run under ``OUT/<preset>`` (so
successive sweeps accumulate): per variant the final held-out R^2 and MCC, the runs that
collapsed or ended below the identity baseline, the held-out R^2 / MCC of every evaluation, and
the training seconds to each time-to-score threshold (mean over seeds; "-" unless every seed
reached it). A run that failed is listed as failed.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
from pathlib import Path

THRESHOLDS = {"r2_linear_heldout": ("0.9", "0.95", "0.99"), "mcc_pearson": ("0.9", "0.95", "0.98")}
VARIANT_FILE = "variant.txt"  # the variant's key=value list, beside its seed directories


def _slug(variant: str) -> str:
    return re.sub(r"[^A-Za-z0-9.=_-]+", "_", variant) or "preset"


def _train_args(preset: str, variant: str, seed: int, steps, stop_at, out: Path) -> list[str]:
    args = ["train", "--preset", preset, "--seed", str(seed), "--out", str(out)]
    if steps:
        args += ["--steps", str(steps)]
    if stop_at:
        args += ["--stop-at", stop_at]
    for item in filter(None, variant.split(",")):
        key, _, value = item.partition("=")
        value = value.strip().replace("/", ",")  # a list value: encoder_widths=256/256/256
        args += [f"--{key.strip().replace('_', '-')}", value]
    return args


def _mean(values):
    values = [v for v in values if v is not None]
    return statistics.mean(values) if values else None


def _fmt(value, digits=1):
    return "-" if value is None else f"{value:.{digits}f}"


def _run(preset: str, variant: str, seed: int, args) -> None:
    """Train one (variant, seed) unless it already finished."""
    variant_dir = args.out / preset / _slug(variant)
    out = variant_dir / f"seed{seed}"
    if (out / "metrics.json").is_file():
        return
    variant_dir.mkdir(parents=True, exist_ok=True)
    (variant_dir / VARIANT_FILE).write_text(variant or "(preset)")
    cmd = [sys.executable, "-m", "tfclica.cli.main"]
    cmd += _train_args(preset, variant, seed, args.steps, args.stop_at, out)
    print("$", "tfclica", " ".join(cmd[3:]), flush=True)
    if subprocess.call(cmd) != 0:
        print(f"FAILED: {out}", flush=True)


def _summary_row(variant_dir: Path) -> dict:
    """The summary of one variant directory: every seed directory in it, finished or not."""
    name_file = variant_dir / VARIANT_FILE
    row = {"variant": name_file.read_text() if name_file.is_file() else variant_dir.name}
    seed_dirs = sorted(p for p in variant_dir.glob("seed*") if p.is_dir())
    metrics, curves = [], []
    for seed_dir in seed_dirs:
        if not (seed_dir / "metrics.json").is_file():
            continue
        metrics.append(json.loads((seed_dir / "metrics.json").read_text()))
        history_file = seed_dir / "evaluations.json"
        history = json.loads(history_file.read_text()) if history_file.is_file() else []
        curves.append(
            " ".join(f"{e['r2_linear_heldout']:.2f}/{e['mcc_pearson']:.2f}" for e in history)
        )
    row["runs"] = f"{len(metrics)} of {len(seed_dirs)}"
    row["r2"] = _mean([m["r2_linear_heldout"] for m in metrics])
    row["mcc"] = _mean([m["mcc_pearson"] for m in metrics])
    row["collapsed"] = sum(bool(m.get("collapsed")) for m in metrics)
    row["below_identity"] = sum(bool(m.get("below_identity")) for m in metrics)
    row["train_s"] = _mean([m.get("train_seconds") for m in metrics])
    for score, levels in THRESHOLDS.items():
        for level in levels:
            hits = [(m["time_to_score"][score][level] or {}).get("seconds") for m in metrics]
            reached = [h for h in hits if h is not None]
            complete = len(reached) == len(metrics) and metrics
            row[f"{score}>={level}"] = _mean(reached) if complete else None
    row["evaluations (R^2/MCC)"] = " ; ".join(curves) or "-"
    return row


def _cell(key: str, value) -> str:
    if isinstance(value, str | int):
        return str(value)
    return _fmt(value, 3 if key in ("r2", "mcc") else 1)


def summary_markdown(preset_dir: Path, command: str) -> str:
    """The sweep table of every variant under ``preset_dir``."""
    rows = [_summary_row(d) for d in sorted(p for p in preset_dir.iterdir() if p.is_dir())]
    lines = [f"# Schedule sweep: {preset_dir.name}", "", f"Last command: `{command}`", ""]
    if not rows:
        return "\n".join(lines + ["(no runs)"]) + "\n"
    keys = list(rows[0])
    lines += ["| " + " | ".join(keys) + " |", "|---" * len(keys) + "|"]
    lines += ["| " + " | ".join(_cell(k, row[k]) for k in keys) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", required=True)
    parser.add_argument("--variant", action="append", default=[], help="key=value,key=value")
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--stop-at", default=None)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    for variant in args.variant or [""]:
        for seed in range(args.seeds):
            _run(args.preset, variant, seed, args)
    preset_dir = args.out / args.preset
    preset_dir.mkdir(parents=True, exist_ok=True)
    text = summary_markdown(preset_dir, "python " + " ".join(sys.argv))
    (preset_dir / "sweep.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
