"""Progress of a long scan on stderr: parts done of the total, rows and rows per second.

Quiet for the first `every` seconds, then one line at most every `every` seconds, so a small file
prints nothing and a long run shows it is alive.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

PROGRESS_SECONDS = 5.0


class PartProgress:
    """Counts parts and rows of one scan and prints a line now and then."""

    def __init__(self, label: str, total: int, every: float = PROGRESS_SECONDS,
                 stream: TextIO | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.label, self.total, self.every = label, total, every
        self._stream = stream
        self._clock = clock
        self._start = self._last = clock()
        self.done = self.rows = 0

    def advance(self, rows: int) -> None:
        """One more part done, of `rows` rows."""
        self.done += 1
        self.rows += rows
        now = self._clock()
        if now - self._last >= self.every:
            self._last = now
            rate = self.rows / max(now - self._start, 1e-9)
            print(f"{self.label}: {self.done}/{self.total} parts, {self.rows:,} rows, "
                  f"{rate:,.0f} rows/s", file=self._stream or sys.stderr, flush=True)
