"""The schedules of ``tfclica reproduce`` and what a run of one costs.

A schedule is a set of ``tfclica train`` flags applied to every row of a table (``full`` applies
none: each row trains on its own preset's schedule). A run's cost is estimated from its preset's
measured training rate (:class:`~tfclica.presets.Measurement`) and the supervised baseline's.
"""

from __future__ import annotations

from tfclica.presets import PAPER_SCHEDULE, Preset, get_preset

# Overrides of each schedule (flags of `tfclica train`); "full" keeps each preset's own.
SCHEDULES: dict[str, dict[str, object]] = {
    # seconds per run, for tests: checks the machinery, not learning
    # (a constant lr: a row's warmup can be longer than the whole smoke run)
    "smoke": dict(
        steps=20,
        batch_size=64,
        eval_every=10,
        checkpoint_every=10,
        eval_samples=512,
        lr_schedule="constant",
        warmup_steps=0,
        baseline_steps=0,  # as many as the steps
    ),
    # The budgeted CPU table: 17 rows x 3 seeds in 34 minutes on 2 cores (RESULTS.md, the
    # smaller encoder). Each row keeps its preset's lr, lr schedule, output init and tau (the
    # tuned part of its schedule); the supervised baseline trains 750 steps at the row's lr
    # (held-out R^2 0.809-0.968 measured there).
    "quick": dict(
        steps=1500, batch_size=512, eval_every=250, checkpoint_every=500, baseline_steps=750
    ),
    "full": {},
    # The reference's recipe (brendel-group/cl-ica's defaults: its encoder widths, batch
    # 6144, lr 1e-4 constant, tau 1) through our code, with our default Glorot init (the
    # reference keeps PyTorch's) and its negatives (the anchors, self included), for as many
    # pairs as "quick" (125 x 6144 = 768k): docs/RESULTS.md's time-to-score comparison.
    "reference": dict(
        encoder_widths="reference",
        negatives="anchors",
        steps=125,
        batch_size=6144,
        lr=1e-4,
        lr_schedule="constant",
        warmup_steps=0,
        tau=1.0,
        output_init="glorot",
        eval_every=25,
        checkpoint_every=125,
        baseline_steps=60,
    ),
    # the reference's schedule, encoder widths and negatives, for accelerators
    "paper": dict(
        PAPER_SCHEDULE,  # the sphere-vmf-paper preset's schedule, for every row
        encoder_widths="reference",
        negatives="anchors",
        baseline_steps=0,  # the reference's baseline trains as long as the model
    ),
}

# The supervised baseline's training rate (MSE on z, the 256x3 encoder, batch 1024): 122.9-127.9k
# pairs/s measured on default, box-laplace, box-gennorm3 and R^n Laplace (2026-12-07, `tfclica
# train --preset ROW --objective supervised --steps 8000`).
SUPERVISED_PAIRS_PER_SECOND = 125_000.0
# What a run spends besides its training steps: start-up, compiling, the evaluations every
# eval_every steps, the final scores (kernel R^2) of both objectives, pictures: 16-17 s of
# wall_seconds in the full table's first records (2026-12-07), plus the process's start.
RUN_OVERHEAD_SECONDS = 20.0


def run_lengths(preset: Preset, schedule: str) -> tuple[int, int, int]:
    """``(steps, batch_size, baseline_steps)`` of ``preset`` under ``schedule``."""
    overrides, cfg = SCHEDULES[schedule], preset.config
    steps = int(overrides.get("steps", cfg.steps))
    baseline = int(overrides.get("baseline_steps", cfg.baseline_steps)) or steps
    return steps, int(overrides.get("batch_size", cfg.batch_size)), baseline


def measured_pairs_per_second(preset: Preset) -> float | None:
    """The preset's measured training pairs/s, else its schedule neighbour's, else ``None``."""
    for candidate in (preset, get_preset(preset.schedule_of) if preset.schedule_of else None):
        if candidate is not None and candidate.measured and candidate.measured.pairs_per_second:
            return float(candidate.measured.pairs_per_second)
    return None
