"""Every on-disk name in a lake: folders, partition keys, data-file names and light-curve ids.

This module both builds and parses them, so the README's directory tree and the code agree.

    <lake>/catalog.duckdb
    <lake>/cadences/mission=<M>/author=<A>/period=<P>/part-<run>-<n>.parquet
    <lake>/tic/hpx=<pixel>/part-*.parquet
    <lake>/_staging/      files being written (never read)
    <lake>/_history/      superseded rows, same partitioning as cadences
    <lake>/raw/mastDownload/<obs_collection>/<obs_id>/<file>   kept FITS (harvest --keep-fits)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

CATALOG_NAME = "catalog.duckdb"
CADENCES = "cadences"
TIC = "tic"
STAGING = "_staging"
HISTORY = "_history"
RAW = "raw"
WRITER_INFO = "_writer.json"
WAITING = "_waiting"

_PERIOD_PREFIX = {"TESS": "s", "Kepler": "q", "K2": "c"}
ID_PREFIX = {"TESS": "TIC", "Kepler": "KIC", "K2": "EPIC"}  # how each mission names its targets ("TIC 25155310")
_PERIOD_RE = re.compile(r"^(?P<kind>[sqc])(?P<num>\d+)$")
_SAFE_PART = re.compile(r"^[A-Za-z0-9._+-]+$")


def period_key(mission: str, number: int) -> str:
    """'s0001' for a TESS sector, 'q02' for a Kepler quarter, 'c04' for a K2 campaign."""
    prefix = _PERIOD_PREFIX[mission]
    width = 4 if prefix == "s" else 2
    return f"{prefix}{number:0{width}d}"


def parse_period_key(key: str) -> tuple[str, int]:
    """Inverse of period_key: ('sector'|'quarter'|'campaign', number)."""
    m = _PERIOD_RE.match(key)
    if not m:
        raise ValueError(f"not a period key: {key!r}")
    kind = {"s": "sector", "q": "quarter", "c": "campaign"}[m["kind"]]
    return kind, int(m["num"])


def make_lc_id(
    mission: str, author: str, target_id: int, period: str, exptime_s: int, segment: str | None = None
) -> str:
    """The logical light-curve key; the same product always gets the same id."""
    base = f"{mission}:{author}:{target_id}:{period}:{exptime_s}"
    return f"{base}:{segment}" if segment else base


@dataclass(frozen=True)
class Partition:
    mission: str
    author: str
    period: str

    @property
    def relpath(self) -> PurePosixPath:
        for part in (self.mission, self.author, self.period):
            if not _SAFE_PART.match(part):
                raise ValueError(f"unsafe partition value {part!r}")
        return PurePosixPath(f"mission={self.mission}/author={self.author}/period={self.period}")


@dataclass(frozen=True)
class LakeLayout:
    """Paths of one lake. Relative paths (as stored in the catalog) use forward slashes."""

    root: Path

    @property
    def catalog(self) -> Path:
        return self.root / CATALOG_NAME

    @property
    def staging(self) -> Path:
        return self.root / STAGING

    @property
    def writer_info(self) -> Path:
        return self.root / WRITER_INFO

    @property
    def waiting(self) -> Path:
        """Markers of processes waiting for the catalog; a writer holding it between commits lets go when one appears."""
        return self.root / WAITING

    def data_file(self, partition: Partition, run_id: str, seq: int, *, history: bool = False) -> str:
        top = HISTORY if history else CADENCES
        return f"{top}/{partition.relpath}/part-{run_id}-{seq:04d}.parquet"

    def tic_file(self, pixel: int, run_id: str, seq: int) -> str:
        return f"{TIC}/hpx={pixel}/part-{run_id}-{seq:04d}.parquet"

    def staging_file(self, relpath: str) -> str:
        return f"{STAGING}/{relpath.replace('/', '__')}"

    def abspath(self, relpath: str) -> Path:
        return self.root / relpath

    def raw_file(self, obs_collection: str, obs_id: str, filename: str) -> Path:
        """Where a harvested FITS file lives; refuses names that would escape the raw area."""
        parts = [obs_collection, obs_id, filename]
        for part in parts:
            if not part or part in (".", "..") or "/" in part or "\\" in part or not _SAFE_PART.match(part):
                raise ValueError(f"unsafe name in product path: {part!r}")
        return self.root / RAW / "mastDownload" / parts[0] / parts[1] / parts[2]
