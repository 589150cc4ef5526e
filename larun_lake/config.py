"""Settings and their precedence: command-line flag, then LARUN_LAKE_* environment variable, then default."""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from .errors import ConfigError, UsageError

DEFAULT_LAKE = Path("data/lake")
DEFAULT_MAST_URL = "https://mast.stsci.edu"
DEFAULT_RESOLVER_URL = "http://mastresolver.stsci.edu/Santa-war/query"
DEFAULT_WAIT_S = 30.0
DEFAULT_TIMEOUT_S = 60.0
EXECUTORS = ("local", "dask")

# Numeric settings: environment variable, command-line option (if any), smallest value, whether
# the smallest value itself is allowed, and what the number means.
_NUMBERS = {
    "wait_s": ("LARUN_LAKE_WAIT", "--wait", 0.0, True, "the seconds to wait for a busy lake, 0 for not at all"),
    "timeout_s": (
        "LARUN_LAKE_TIMEOUT",
        None,
        0.0,
        False,
        "the seconds without progress before a MAST request is retried",
    ),
    "workers": ("LARUN_LAKE_WORKERS", None, 0, True, "the number of parallel workers, 0 for automatic"),
}


def _out_of_range(field_name: str, value: float) -> str | None:
    """What is wrong with a numeric setting's value, or None."""
    _, _, least, inclusive, _ = _NUMBERS[field_name]
    if not math.isfinite(value):
        return "is not a finite number"
    if value < least or (value == least and not inclusive):
        return f"must be {'at least' if inclusive else 'more than'} {least:g}"
    return None


def _env_number(field_name: str, default: float) -> float:
    """A numeric LARUN_LAKE_* variable; a malformed one is a configuration problem, not a crash."""
    var, _, _, _, meaning = _NUMBERS[field_name]
    raw = os.environ.get(var, "").strip()
    if not raw:
        return default
    kind = int if isinstance(default, int) else float
    hint = f"{var} is {meaning}; unset it for the default, {default:g}"
    try:
        value = kind(raw)
    except ValueError:
        raise ConfigError(f"{var}={raw!r} is not {'an integer' if kind is int else 'a number'}", hint=hint) from None
    problem = _out_of_range(field_name, value)
    if problem:
        raise ConfigError(f"{var}={raw!r} {problem}", hint=hint)
    return value


@dataclass(frozen=True)
class Settings:
    """Everything a Lake needs to know that is not in the lake itself."""

    # A local folder or an object-store URL (s3://bucket/prefix).
    lake: str = field(default_factory=lambda: os.environ.get("LARUN_LAKE") or str(DEFAULT_LAKE))
    # The catalog file; default <lake>/catalog.duckdb, or a file in the user's cache for a remote lake.
    catalog: str | None = field(default_factory=lambda: os.environ.get("LARUN_LAKE_CATALOG") or None)
    # Where per-file work runs: 'local' (a process pool) or 'dask' (a distributed cluster).
    executor: str = field(default_factory=lambda: (os.environ.get("LARUN_LAKE_EXECUTOR") or "local").strip().lower())
    scheduler: str | None = field(default_factory=lambda: os.environ.get("LARUN_LAKE_SCHEDULER") or None)
    wait_s: float = field(default_factory=lambda: _env_number("wait_s", DEFAULT_WAIT_S))
    mast_url: str = field(default_factory=lambda: os.environ.get("LARUN_LAKE_MAST_URL") or DEFAULT_MAST_URL)
    resolver_url: str = field(default_factory=lambda: os.environ.get("LARUN_LAKE_RESOLVER_URL") or DEFAULT_RESOLVER_URL)
    workers: int = field(default_factory=lambda: _env_number("workers", 0))
    # Seconds without progress before a MAST request is abandoned and retried.
    timeout_s: float = field(default_factory=lambda: _env_number("timeout_s", DEFAULT_TIMEOUT_S))

    def __post_init__(self) -> None:
        if self.executor not in EXECUTORS:
            raise UsageError(f"executor {self.executor!r} is not one of {', '.join(EXECUTORS)}",
                             hint="use --executor local or --executor dask (env LARUN_LAKE_EXECUTOR)")
        if self.scheduler and self.executor != "dask":
            raise UsageError("--scheduler needs --executor dask", hint="add --executor dask")
        # Values from the environment were checked as they were read; these came from the caller.
        for name, (_, option, _, _, meaning) in _NUMBERS.items():
            value = getattr(self, name)
            problem = _out_of_range(name, value)
            if problem:
                raise UsageError(f"{option or name} {value:g} {problem}", hint=f"give {meaning}")

    @classmethod
    def resolve(cls, lake: str | os.PathLike[str] | None = None, **overrides: object) -> Settings:
        """Build settings: explicit arguments win over the environment, which wins over defaults.

        Only the environment variables of settings not given explicitly are read.
        """
        values = {k: v for k, v in overrides.items() if v is not None}
        if lake is not None:
            values["lake"] = os.fspath(lake)
        return cls(**values)


_DURATION_UNITS = {"s": 1.0, "sec": 1.0, "min": 60.0, "m": 60.0, "h": 3600.0, "hr": 3600.0, "d": 86400.0}
_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*([a-z]*)\s*$")


def duration_seconds(text: str) -> float:
    """'10min', '30s', '2h', '7d' or a plain number of seconds; ValueError for anything else."""
    m = _DURATION_RE.match(text.lower())
    if not m or m.group(2) not in ("", *_DURATION_UNITS):
        raise ValueError(f"not a duration: {text!r}")
    return float(m.group(1)) * _DURATION_UNITS.get(m.group(2), 1.0)


_MEMORY_RE = re.compile(r"^(\d+(?:\.\d*)?|\.\d+)\s*(b|bytes?|[kmgt]b?|[kmgt]ib)$", re.IGNORECASE)
_PERCENT_RE = re.compile(r"^(\d+(?:\.\d*)?|\.\d+)\s*%$")


def memory_limit(text: str) -> str:
    """A DuckDB memory limit ('2GB', '512MiB', '1.5 GB', '80%'), checked before any work starts."""
    value = text.strip()
    size, percent = _MEMORY_RE.match(value), _PERCENT_RE.match(value)
    if (size and float(size.group(1)) > 0) or (percent and 0 < float(percent.group(1)) <= 100):
        return value
    raise UsageError(f"--memory-limit {text!r} is not a memory size", hint="use e.g. 2GB, 512MiB or 50%")
