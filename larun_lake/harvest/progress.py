"""What a running harvest reports while it works: the phase, and counts that move within it."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, replace

PHASES = ("searching", "listing", "downloading", "ingesting", "done")


@dataclass(frozen=True)
class HarvestProgress:
    phase: str  # one of PHASES
    detail: str = ""  # what the phase works on, e.g. "TESS observations of 30 targets"
    files_done: int = 0  # downloads finished (ok or not)
    files_total: int = 0  # downloads planned
    bytes_done: int = 0  # bytes received so far
    bytes_total: int = 0  # bytes MAST lists for the planned downloads
    ingested: int = 0  # light curves committed (new or unchanged)

    def describe(self) -> str:
        """One line for a progress display, e.g. 'downloading 3 of 6 files (2 ingested)'."""
        if self.phase == "downloading":
            text = f"downloading {self.files_done} of {self.files_total} files"
        elif self.phase == "ingesting":
            text = f"ingesting ({self.files_done} of {self.files_total} files downloaded)"
        else:
            text = self.phase + (f" {self.detail}" if self.detail else "")
        if self.phase in ("downloading", "ingesting", "done") and self.ingested:
            text += f", {self.ingested} ingested"
        return text


ProgressFn = Callable[[HarvestProgress], None]


class ProgressState:
    """The current progress, updated from the harvest and its download threads."""

    def __init__(self, callback: ProgressFn | None) -> None:
        self._callback = callback
        self._lock = threading.Lock()
        self.current = HarvestProgress("searching")

    def update(self, **changes: object) -> None:
        with self._lock:  # callbacks in order, so counts never seem to go back
            self.current = replace(self.current, **changes)
            if self._callback is not None:
                self._callback(self.current)

    def add_bytes(self, n: int) -> None:
        with self._lock:
            self.current = replace(self.current, bytes_done=self.current.bytes_done + n)
            if self._callback is not None:
                self._callback(self.current)
