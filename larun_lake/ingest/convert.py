"""Per-file work of ingest: a pure function of the file, runnable in any worker."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ProductError
from ..kinds import product_type_of_name
from ..kinds.pixel import is_pixel_file
from ..readers.fitsfile import FitsFile, open_fits
from ..readers.lightcurve import LightCurveData, read_lightcurve
from ..readers.pixelfile import PIXEL_KIND_ERROR_TYPE, PixelProduct


@dataclass(frozen=True)
class InputFile:
    """One file to ingest and what is known about where it came from."""

    path: Path
    product_uri: str
    data_uri: str | None = None
    extra: dict = field(default_factory=dict, hash=False, compare=False)  # products columns (obs_id, ...)
    # Pixel files only: which pixels make the light curve ('default', 'pipeline', 'threshold', 'all' or a mask).
    aperture: Any = field(default="default", hash=False, compare=False)


@dataclass
class Converted:
    item: InputFile
    outcome: str  # 'lightcurve' | 'unchanged' | 'error'
    sha256: str | None = None  # the version's key: the file's hash, or for a pixel file its hash with the aperture
    size_bytes: int = 0
    lc: LightCurveData | None = None
    error: ProductError | None = None
    file_sha256: str | None = None  # the file's own hash where it differs from `sha256` (pixel files)
    product_type: str = "lightcurve"
    pixel: dict | None = None  # a pixel file's pixel_file_versions row (unchanged files: what placing it needs)
    # HST/JWST products: a spectrum (its rows staged at `staged`) or an image (its file kept in the raw area).
    spectrum: Any = None  # readers.observatory.SpectrumData (table dropped once staged)
    image: Any = None  # readers.observatory.ImageData
    staged: Any = None  # ingest.stage.StagedFile of a spectrum's rows

    @property
    def file_hash(self) -> str | None:
        return self.file_sha256 or self.sha256


def convert_all(item: InputFile, known_shas: frozenset[str] | set[str]) -> list[Converted]:
    """Read one file into one result per version it holds (a JWST white-light curve has one per spectral order)."""
    from .observatory import convert_observatory, is_observatory_file

    if is_observatory_file(item.path):
        return convert_observatory(item, known_shas)
    return [convert(item, known_shas)]


def convert(item: InputFile, known_shas: frozenset[str] | set[str]) -> Converted:
    """Read one file; files whose bytes the lake already holds are not parsed again."""
    from .observatory import convert_observatory, is_observatory_file

    if is_observatory_file(item.path):
        return convert_observatory(item, known_shas)[0]
    try:
        ff = open_fits(item.path)
    except ProductError as exc:
        kind = product_type_of_name(item.path.name)  # too damaged to read: its name says what it was
        return Converted(item, "error", error=exc, size_bytes=_size(item.path), product_type=kind)
    if is_pixel_file(ff):
        return _convert_pixels(item, ff, known_shas)
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


def _convert_pixels(item: InputFile, ff: FitsFile, known_shas: frozenset[str] | set[str]) -> Converted:
    """A target pixel file or cutout: one light curve per aperture, each a version of its own."""
    kind = PIXEL_KIND_ERROR_TYPE
    try:
        pixel = PixelProduct(ff, item.aperture, target_id=item.extra.get("target_id"))
        kind = pixel.product_type
        key = pixel.version_sha256
        if key in known_shas:  # the kept copy is checked by stage_chunk, which writes it back if it has gone
            return Converted(item, "unchanged", key, ff.size_bytes, file_sha256=ff.sha256, product_type=kind,
                             pixel=pixel.kept_row())
        lc, row = pixel.lightcurve()
    except ProductError as exc:
        return Converted(item, "error", ff.sha256, ff.size_bytes, error=exc, product_type=kind)
    except Exception as exc:  # a reader bug or an unforeseen layout must not stop the run
        err = ProductError(str(item.path), f"unreadable pixel file ({type(exc).__name__}: {exc})")
        return Converted(item, "error", ff.sha256, ff.size_bytes, error=err, product_type=kind)
    lc.meta["source_path"] = str(item.path)
    lc.meta["data_uri"] = item.data_uri
    row.update(source_path=str(item.path), data_uri=item.data_uri)
    return Converted(item, "lightcurve", key, ff.size_bytes, lc=lc, file_sha256=ff.sha256, product_type=kind,
                     pixel=row)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0
