"""Whether the process that left something behind (a run, a temporary file) is still running."""

from __future__ import annotations

import os


def alive(pid: int | None) -> bool:
    """True for a live process on this machine (ours included); a pid we may not signal is alive."""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
