"""A terminal progress bar for training: step, loss, latest R^2, pairs/s and time left."""

from __future__ import annotations

import sys
import time


class ProgressBar:
    """Renders :class:`tfclica.training.Progress` events on stderr.

    On a terminal the bar redraws in place a few times a second; otherwise (logs, CI) one line
    is printed every ``line_every`` steps and at the end.
    """

    def __init__(self, line_every: int = 250, stream=None, width: int = 24):
        self.stream = stream or sys.stderr
        self.interactive = self.stream.isatty()
        self.line_every = line_every
        self.width = width
        self._start = time.perf_counter()
        self._last_draw = 0.0

    def __call__(self, p) -> None:
        now = time.perf_counter()
        done = p.step == p.total_steps
        if self.interactive and not done and now - self._last_draw < 0.2:
            return
        if not self.interactive and not done and p.step % self.line_every:
            return
        self._last_draw = now
        frac = p.step / p.total_steps
        filled = int(self.width * frac)
        bar = "#" * filled + "-" * (self.width - filled)
        r2 = "  --  " if p.r2 is None else f"{p.r2:.4f}"
        rate = "" if not p.pairs_per_second else f"  {p.pairs_per_second / 1000:.1f}k pairs/s"
        elapsed = now - self._start
        eta = elapsed / max(frac, 1e-9) - elapsed if p.step else 0.0
        line = (
            f"[{bar}] {p.step}/{p.total_steps}  loss {p.loss:.4f}  R2 {r2}{rate}"
            f"  {_clock(elapsed)} elapsed, {_clock(eta)} left"
            + ("  COLLAPSED (near-zero variance of the encodings)" if p.collapsed else "")
        )
        if self.interactive:
            self.stream.write("\r" + line + ("\n" if done else ""))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()


def _clock(seconds: float) -> str:
    seconds = int(max(seconds, 0))
    return f"{seconds // 60}:{seconds % 60:02d}"
