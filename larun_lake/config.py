"""Settings and their precedence: command-line flag, then LARUN_LAKE_* environment variable, then default."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_LAKE = Path("data/lake")
DEFAULT_MAST_URL = "https://mast.stsci.edu"
DEFAULT_RESOLVER_URL = "http://mastresolver.stsci.edu/Santa-war/query"
DEFAULT_WAIT_S = 30.0


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    return float(raw) if raw not in (None, "") else default


@dataclass(frozen=True)
class Settings:
    """Everything a Lake needs to know that is not in the lake itself."""

    lake: Path = field(default_factory=lambda: Path(os.environ.get("LARUN_LAKE") or DEFAULT_LAKE))
    wait_s: float = field(default_factory=lambda: _env_float("LARUN_LAKE_WAIT", DEFAULT_WAIT_S))
    mast_url: str = field(default_factory=lambda: os.environ.get("LARUN_LAKE_MAST_URL") or DEFAULT_MAST_URL)
    resolver_url: str = field(default_factory=lambda: os.environ.get("LARUN_LAKE_RESOLVER_URL") or DEFAULT_RESOLVER_URL)
    workers: int = field(default_factory=lambda: int(os.environ.get("LARUN_LAKE_WORKERS") or 0))
    # Seconds without progress before a MAST request is abandoned and retried.
    timeout_s: float = field(default_factory=lambda: _env_float("LARUN_LAKE_TIMEOUT", 60.0))

    @classmethod
    def resolve(cls, lake: str | os.PathLike[str] | None = None, **overrides: object) -> Settings:
        """Build settings: explicit arguments win over the environment, which wins over defaults."""
        base = cls()
        values = {k: v for k, v in overrides.items() if v is not None}
        if lake is not None:
            values["lake"] = Path(lake)
        return cls(**{**base.__dict__, **values})


_DURATION_UNITS = {"s": 1.0, "sec": 1.0, "min": 60.0, "m": 60.0, "h": 3600.0, "hr": 3600.0, "d": 86400.0}
_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*([a-z]*)\s*$")


def duration_seconds(text: str) -> float:
    """'10min', '30s', '2h', '7d' or a plain number of seconds; ValueError for anything else."""
    m = _DURATION_RE.match(text.lower())
    if not m or m.group(2) not in ("", *_DURATION_UNITS):
        raise ValueError(f"not a duration: {text!r}")
    return float(m.group(1)) * _DURATION_UNITS.get(m.group(2), 1.0)
