"""Progress on a terminal for the command line's long jobs: one self-overwriting line."""
from __future__ import annotations

import sys

from unioncat.models import LoadStats


class ProgressLine:
    """A one-line, self-overwriting progress report on a terminal."""

    def __init__(self, label: str, enabled: bool) -> None:
        self.label = label
        self.enabled = enabled
        self.width = 0

    def update(self, stats: LoadStats) -> None:
        self.show(f"{self.label}: {stats.read:,} records, {stats.pages:,} pages, "
                  f"{stats.retries:,} retries, {stats.rejected:,} rejected, {stats.elapsed:.0f} s")

    def show(self, text: str) -> None:
        """Write text over the line shown before."""
        if not self.enabled:
            return
        sys.stderr.write("\r" + text.ljust(self.width))
        sys.stderr.flush()
        self.width = len(text)

    def done(self) -> None:
        if self.enabled and self.width:
            sys.stderr.write("\r" + " " * self.width + "\r")
            sys.stderr.flush()


class StageLine(ProgressLine):
    """Progress of a multi-stage job on one line."""

    def __init__(self, enabled: bool) -> None:
        super().__init__("dedup", enabled)

    def update(self, stage: str, done: int, total: int) -> None:  # type: ignore[override]
        self.show(f"dedup: {stage} {done:,}/{total:,}")
