"""Sweep training schedules of one preset and tabulate time-to-score (issue: fast identifiability).

Run:  python tools/sweep_schedules.py --preset sphere-vmf1 --out runs/sweep \
          --variant "lr=1e-3" --variant "lr=1e-3,lr_schedule=warmup-cosine,warmup_steps=200" \
          [--seeds 1] [--steps 3000] [--stop-at r2=0.99]

Each variant is a comma-separated list of config keys (``key=value``, as in config.toml) applied
on top of the preset; each (variant, seed) is an ordinary ``tfclica train`` run directory under
``OUT/<preset>/<variant>/seed<k>`` (finished ones are not rerun). The summary, printed and
written to ``OUT/<preset>/sweep.md``, gives per variant the final held-out R^2 and MCC, and the
training seconds to each time-to-score threshold (mean over seeds; "-" where never reached).
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
        args += [f"--{key.strip().replace('_', '-')}", value.strip()]
    return args


def _mean(values):
    values = [v for v in values if v is not None]
    return statistics.mean(values) if values else None


def _fmt(value, digits=1):
    return "-" if value is None else f"{value:.{digits}f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", required=True)
    parser.add_argument("--variant", action="append", default=[], help="key=value,key=value")
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--stop-at", default=None)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    variants = args.variant or [""]
    rows = []
    for variant in variants:
        metrics = []
        for seed in range(args.seeds):
            out = args.out / args.preset / _slug(variant) / f"seed{seed}"
            if not (out / "metrics.json").is_file():
                cmd = [sys.executable, "-m", "tfclica.cli.main"]
                cmd += _train_args(args.preset, variant, seed, args.steps, args.stop_at, out)
                print("$", " ".join(cmd[2:]), flush=True)
                if subprocess.call(cmd) != 0:
                    print(f"FAILED: {out}", flush=True)
                    continue
            metrics.append(json.loads((out / "metrics.json").read_text()))
        row = {"variant": variant or "(preset)", "runs": len(metrics)}
        row["r2"] = _mean([m["r2_linear_heldout"] for m in metrics])
        row["mcc"] = _mean([m["mcc_pearson"] for m in metrics])
        row["train_s"] = _mean([m.get("train_seconds") for m in metrics])
        for score, levels in THRESHOLDS.items():
            for level in levels:
                hits = [(m["time_to_score"][score][level] or {}).get("seconds") for m in metrics]
                reached = [h for h in hits if h is not None]
                row[f"{score}>={level}"] = (
                    _mean(reached) if len(reached) == len(metrics) and metrics else None
                )
        rows.append(row)
    keys = [k for k in rows[0] if k not in ("variant",)]
    lines = [f"# Schedule sweep: {args.preset}", "", f"`python {' '.join(sys.argv)}`", ""]
    lines += ["| variant | " + " | ".join(keys) + " |", "|---" * (len(keys) + 1) + "|"]
    for row in rows:
        cells = [
            str(row[k]) if k == "runs" else _fmt(row[k], 4 if k in ("r2", "mcc") else 1)
            for k in keys
        ]
        lines.append(f"| {row['variant']} | " + " | ".join(cells) + " |")
    text = "\n".join(lines) + "\n"
    (args.out / args.preset).mkdir(parents=True, exist_ok=True)
    (args.out / args.preset / "sweep.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
