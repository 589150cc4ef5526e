"""How long the command a user waited for has run, for the summaries the CLI prints."""

from __future__ import annotations

import os
import time

_LOADED = time.monotonic()


def command_seconds() -> float:
    """Seconds since this process started: interpreter start, imports and lake creation included.

    Read from /proc where there is one; elsewhere, since the CLI was loaded.
    """
    since_loaded = time.monotonic() - _LOADED
    try:
        with open("/proc/self/stat", encoding="ascii") as fh:
            start_ticks = int(fh.read().rsplit(")", 1)[1].split()[19])  # field 22, starttime
        with open("/proc/uptime", encoding="ascii") as fh:
            uptime = float(fh.read().split()[0])
        since_start = uptime - start_ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return since_loaded
    # A clock we cannot trust (e.g. another time namespace) must not shorten the figure.
    return since_start if since_loaded <= since_start < since_loaded + 3600 else since_loaded
