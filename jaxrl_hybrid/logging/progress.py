"""Progress lines on stderr: steps, steps/s, ETA and the current mean return."""

from __future__ import annotations

import sys
import time
from typing import TextIO


def _fmt_seconds(s: float) -> str:
    s = int(max(s, 0))
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    return f"{h:d}:{m:02d}:{sec:02d}" if h else f"{m:d}:{sec:02d}"


class Progress:
    """Prints one line per chunk. Steps/s counts environment steps of one seed."""

    def __init__(self, total_steps: int, num_seeds: int, stream: TextIO | None = None):
        self.total_steps = total_steps
        self.num_seeds = num_seeds
        self.stream = stream if stream is not None else sys.stderr
        self.start = time.perf_counter()
        self.start_steps = 0

    def begin(self, steps_done: int, message: str = "") -> None:
        """Reset the clock after compilation, so steps/s measures running, not compiling."""
        self.start = time.perf_counter()
        self.start_steps = steps_done
        if message:
            print(message, file=self.stream, flush=True)

    def update(self, steps: int, mean_return: float, extra: str = "") -> str:
        elapsed = time.perf_counter() - self.start
        rate = (steps - self.start_steps) / elapsed if elapsed > 0 else float("nan")
        eta = (self.total_steps - steps) / rate if rate > 0 else float("nan")
        done = int(20 * min(max(steps / self.total_steps, 0.0), 1.0))
        line = (
            f"|{'#' * done}{'.' * (20 - done)}| [{steps:>9d}/{self.total_steps}] "
            f"{100.0 * steps / self.total_steps:5.1f}%  "
            f"{rate:9.1f} steps/s/seed x {self.num_seeds} seeds  "
            f"ETA {_fmt_seconds(eta) if eta == eta else '?'}  mean return {mean_return:10.2f}"
        )
        if extra:
            line += "  " + extra
        print(line, file=self.stream, flush=True)
        return line
