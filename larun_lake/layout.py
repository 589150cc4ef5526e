"""Every name in a lake: folders, partition keys, data-file names and light-curve ids.

This module both builds and parses them, so the README's directory tree and the code agree.
The lake root is a local folder or an object-store prefix (see lake/storage.py):

    <lake>/catalog.duckdb   (local lakes; a remote lake's catalog lives on the writer's disk)
    <lake>/cadences/mission=<M>/author=<A>/period=<P>/part-<run>-<n>.parquet
                                                      part-<run>-c<chunk>-<n>.parquet (object stores)
    <lake>/tic/hpx=<pixel>/part-*.parquet
    <lake>/_staging/      files being written on a local lake (never read)
    <lake>/_history/      superseded rows, same partitioning as cadences
    <lake>/_catalog/      snapshots of the catalog (v<N>/, LATEST) and a remote lake's writer LEASE
    <lake>/raw/mastDownload/<obs_collection>/<obs_id>/<file>   kept FITS: pixel files, harvest --keep-fits
    <lake>/raw/tesscut/<sector key>/<file>                     kept TESScut cutouts
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from .lake.storage import Storage

CATALOG_NAME = "catalog.duckdb"
CADENCES = "cadences"
SPECTRA = "spectra"
SPECTRAL_TIMESERIES = "spectral_timeseries"
SPECTRUM_AREAS = (SPECTRA, SPECTRAL_TIMESERIES)
TIC = "tic"
STAGING = "_staging"
HISTORY = "_history"
RAW = "raw"
WRITER_INFO = "_writer.json"
WAITING = "_waiting"

_SAFE_PART = re.compile(r"^[A-Za-z0-9._+-]+$")
_PERIOD_RE = re.compile(r"^(?P<prefix>[a-z])(?P<num>\d+)$")


# Each product kind declares its period keyword and prefix (larun_lake/kinds). The kinds build
# light-curve ids with this module, so it looks them up when called rather than on import.
def period_key(mission: str, number: int) -> str:
    """'s0001' for a TESS sector, 'q02' for a Kepler quarter, 'c04' for a K2 campaign."""
    from .kinds import of_mission

    kind = of_mission(mission)
    return f"{kind.period_prefix}{number:0{kind.period_digits}d}"


def parse_period_key(key: str) -> tuple[str, int]:
    """Inverse of period_key: ('sector'|'quarter'|'campaign', number)."""
    from .kinds import period_kinds

    m = _PERIOD_RE.match(key)
    kind = next((k for k in period_kinds() if m and k.period_prefix == m["prefix"]), None)
    if kind is None:
        raise ValueError(f"not a period key: {key!r}")
    return kind.period_column, int(m["num"])


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

    def area_prefix(self, area: str = CADENCES) -> str:
        return f"{area}/{self.relpath_in(area)}/"

    def relpath_in(self, area: str) -> PurePosixPath:
        """Spectra and spectral time series are partitioned by mission and period only."""
        if area not in SPECTRUM_AREAS:
            return self.relpath
        rel = self.relpath
        return PurePosixPath(rel.parts[0], rel.parts[2])


class LakeLayout:
    """Names of one lake: data files in its storage (relative paths, forward slashes, as the catalog
    stores them), and the catalog with its lock markers on the writing machine's local disk."""

    def __init__(self, store: Storage | Path | str, catalog: Path | None = None) -> None:
        self.store = store if isinstance(store, Storage) else Storage.from_url(store)
        self.catalog = Path(catalog) if catalog is not None else default_catalog(self.store)

    @classmethod
    def at(cls, url: str | os.PathLike[str], catalog: str | os.PathLike[str] | None = None) -> LakeLayout:
        return cls(Storage.from_url(url), Path(catalog).expanduser().resolve() if catalog else None)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, LakeLayout) and (self.store.url, self.catalog) == (other.store.url, other.catalog)

    def __hash__(self) -> int:
        return hash((self.store.url, self.catalog))

    @property
    def url(self) -> str:
        """How the lake is named in messages and to other tools."""
        return self.store.url

    @property
    def is_local(self) -> bool:
        return self.store.is_local

    @property
    def root(self) -> Path:
        """The lake folder of a local lake."""
        return self.store.local_path()

    @property
    def local(self) -> Path:
        """The folder beside the catalog that holds the writer's and waiters' markers."""
        return self.catalog.parent

    @property
    def staging(self) -> str:
        return STAGING

    @property
    def writer_info(self) -> Path:
        return self.local / WRITER_INFO

    @property
    def waiting(self) -> Path:
        """Markers of processes waiting for the catalog; a writer holding it between commits lets go when one appears."""
        return self.local / WAITING

    def data_file(self, partition: Partition, run_id: str, seq: int, *, history: bool = False) -> str:
        top = HISTORY if history else CADENCES
        return f"{top}/{partition.relpath}/part-{run_id}-{seq:04d}.parquet"

    def chunk_file(self, partition: Partition, run_id: str, chunk_id: int, n: int, *, area: str = CADENCES) -> str:
        """Where a worker writes one partition's rows of a chunk. A deterministic name, so a task run
        twice writes the same file: in staging on a local lake (moved in by the commit), and under its
        final name on an object store, which has no rename (the catalog registering it publishes it)."""
        if self.is_local:
            return f"{STAGING}/{run_id}/chunk{chunk_id:05d}-{n:03d}.parquet"
        return f"{partition.area_prefix(area)}part-{run_id}-c{chunk_id:05d}-{n:03d}.parquet"

    def spectrum_file(self, area: str, partition: Partition, run_id: str, seq: int, *, history: bool = False) -> str:
        """A spectra or spectral_timeseries data file; superseded ones go to _history/<area>/."""
        top = f"{HISTORY}/{area}" if history else area
        return f"{top}/{partition.relpath_in(area)}/part-{run_id}-{seq:04d}.parquet"

    def scratch_file(self, run_id: str, name: str, final: str) -> str:
        """Where a file the committing process writes goes first: staging locally, its final name remotely."""
        return f"{STAGING}/{run_id}/{name}" if self.is_local else final

    def tic_file(self, pixel: int, run_id: str, seq: int) -> str:
        return f"{TIC}/hpx={pixel}/part-{run_id}-{seq:04d}.parquet"

    def staging_file(self, relpath: str) -> str:
        return f"{STAGING}/{relpath.replace('/', '__')}"

    def raw_relpath(self, obs_collection: str, obs_id: str, filename: str) -> str:
        """Where a harvested FITS file lives; refuses names that would escape the raw area."""
        parts = [obs_collection, obs_id, filename]
        for part in parts:
            if not part or part in (".", "..") or "/" in part or "\\" in part or not _SAFE_PART.match(part):
                raise ValueError(f"unsafe name in product path: {part!r}")
        return f"{RAW}/mastDownload/{parts[0]}/{parts[1]}/{parts[2]}"

    def cutout_relpath(self, period: str, filename: str) -> str:
        """Where a TESScut cutout is kept: raw/tesscut/<sector key>/<file>."""
        for part in (period, filename):
            if not part or part in (".", "..") or not _SAFE_PART.match(part):
                raise ValueError(f"unsafe name in cutout path: {part!r}")
        return f"{RAW}/tesscut/{period}/{filename}"

    @property
    def protected_root(self) -> Path:
        """The local folder no output may go into or over: the lake, or the remote lake's catalog folder."""
        return self.root if self.is_local else self.local

    @property
    def download_root(self) -> Path:
        """The local folder downloads land in: the lake itself when local, else beside the catalog."""
        return self.root if self.is_local else self.local

    def raw_file(self, obs_collection: str, obs_id: str, filename: str) -> Path:
        return self.download_root / self.raw_relpath(obs_collection, obs_id, filename)


def cache_folder() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "larun-lake"


def default_catalog(store: Storage) -> Path:
    """<lake>/catalog.duckdb for a local lake; for a remote one, a file in the user's cache keyed by its URL."""
    if store.is_local:
        return store.local_path(CATALOG_NAME)
    key = hashlib.sha256(store.url.encode()).hexdigest()[:16]
    readable = re.sub(r"[^A-Za-z0-9._-]+", "_", store.url.split("://", 1)[1])[:60]
    return cache_folder() / "lakes" / f"{readable}-{key}" / CATALOG_NAME
