"""Per-file work of ingest: a pure function of the file, runnable in any worker."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ProductError
from ..readers.fitsfile import open_fits
from ..readers.lightcurve import LightCurveData, read_lightcurve


@dataclass(frozen=True)
class InputFile:
    """One file to ingest and what is known about where it came from."""

    path: Path
    product_uri: str
    data_uri: str | None = None
    extra: dict = field(default_factory=dict, hash=False, compare=False)  # products columns (obs_id, ...)


@dataclass
class Converted:
    item: InputFile
    outcome: str  # 'lightcurve' | 'unchanged' | 'error'
    sha256: str | None = None
    size_bytes: int = 0
    lc: LightCurveData | None = None
    error: ProductError | None = None


def convert(item: InputFile, known_shas: frozenset[str] | set[str]) -> Converted:
    """Read one file; files whose bytes the lake already holds are not parsed again."""
    try:
        ff = open_fits(item.path)
    except ProductError as exc:
        return Converted(item, "error", error=exc, size_bytes=_size(item.path))
    if ff.sha256 in known_shas:
        return Converted(item, "unchanged", ff.sha256, ff.size_bytes)
    try:
        lc = read_lightcurve(str(item.path), ff=ff)
    except ProductError as exc:
        return Converted(item, "error", ff.sha256, ff.size_bytes, error=exc)
    except Exception as exc:  # a reader bug or an unforeseen layout must not stop the run
        err = ProductError(str(item.path), f"unreadable light curve ({type(exc).__name__}: {exc})")
        return Converted(item, "error", ff.sha256, ff.size_bytes, error=err)
    lc.meta["source_path"] = str(item.path)
    lc.meta["data_uri"] = item.data_uri
    return Converted(item, "lightcurve", ff.sha256, ff.size_bytes, lc=lc)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0
