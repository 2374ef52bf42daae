"""A progress bar for long CLI commands, on stderr: redrawn in place on a terminal, one plain line
per step otherwise (logs and CI keep readable text, no carriage returns)."""
from __future__ import annotations

import sys
import time

WIDTH = 30


class Progress:
    """Call it as ``progress(step, done, total)``; :meth:`finish` prints the summary line."""

    def __init__(self, label: str, stream=None):
        self.label = label
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.started = time.perf_counter()
        self._drawn = False

    def __call__(self, step: str, done: int, total: int) -> None:
        total = max(total, 1)
        done = min(max(done, 0), total)
        if self.tty:
            filled = WIDTH * done // total
            self.stream.write(f"\r{self.label} [{'#' * filled}{'.' * (WIDTH - filled)}] {done}/{total} {step}"
                              "\033[K")
            self._drawn = True
        else:
            self.stream.write(f"{self.label}: {done}/{total} {step}\n")
        self.stream.flush()

    def seconds(self) -> float:
        return time.perf_counter() - self.started

    def finish(self, summary: str) -> None:
        if self._drawn:
            self.stream.write("\n")
        self.stream.write(f"{summary} in {self.seconds():.1f} s\n")
        self.stream.flush()
