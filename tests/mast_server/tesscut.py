"""TESScut on the fake MAST: sector lists, astrocut cutouts of local FFI cubes, FFI observation rows.

What the real clients showed over loopback, beyond PROTOCOL.md section 8:

* Redirecting: every ``TesscutClass()`` builds its URL from the class attribute
  ``astroquery.mast.services.ServiceAPI.SERVICE_URL`` (``conf.server`` at import) plus
  ``/tesscut/api/v0.1/``.  lightkurve makes a new ``TesscutClass()`` for each call, so
  tests set ``ServiceAPI.SERVICE_URL``; the module-level ``Tesscut`` singleton already
  holds its own ``_service_api_connection.REQUEST_URL`` and needs that set too.
* ``download_cutouts`` fetches with ``_download_file`` (GET, no HEAD): a 4xx/5xx reply
  raises ``requests.HTTPError`` there (``InvalidQueryError`` only comes from the
  form-posting ``get_sectors``/``get_cutouts``, for 400 and 500), and ``Retry-After`` is
  ignored.  A reply that is not a zip is parsed as JSON (``msg``) and gives a
  ``NoResultsWarning`` and an empty table.
* lightkurve's ``search_tesscut`` is a CAOM cone search of 0.0001 arcsec, so the FFI
  observation rows must match by footprint, not by distance to their centre; its
  ``download`` resolves the name, asks for the sectors, globs its cache, then downloads
  one sector.  Its glob needs astrocut's legacy names (``..._{W}x{H}_astrocut.fits``,
  ``W``/``H`` the pixel window even where the cutout runs off the image; angular sizes
  give the window astrocut rounds to, e.g. ``8x9`` for 0.05 deg).
* astrocut raises an IndexError for a position outside a cube, so cubes are chosen by
  footprint first; a cutout partly off the image keeps its size with NaN pixels.
* astrocut 1.4's cube cutouts take ``cutout_size`` as (x, y) in effect, whatever its
  docstring says; the client sends ``x`` = width, so the server passes (x, y).
"""

from __future__ import annotations

import itertools
import math
import re
import tempfile
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from astropy.io import fits
from astropy.time import Time
from astropy.wcs import WCS, FITSFixedWarning

TJD_ZERO = 2457000.0


class TesscutError(ValueError):
    """A bad request: answered with HTTP 400 and this message."""


@dataclass(frozen=True)
class Cube:
    path: Path
    sector_name: str  # tess-sSSSS-C-D, from the cube's file name as on MAST
    sector: int
    camera: int
    ccd: int
    wcs: WCS
    shape: tuple[int, int]  # (ny, nx) of the FFIs
    t_min: float  # MJD
    t_max: float
    exptime: float  # seconds per FFI

    @property
    def pixel_scale(self) -> float:
        return float(np.sqrt(abs(np.linalg.det(self.wcs.pixel_scale_matrix))))

    def pixel(self, ra: float, dec: float) -> tuple[float, float]:
        with np.errstate(all="ignore"):
            x, y = self.wcs.all_world2pix([[ra, dec]], 0)[0]
        return float(x), float(y)

    def contains(self, ra: float, dec: float, radius: float = 0.0) -> bool:
        """Whether a cone of ``radius`` degrees touches the image (the margin is taken in pixels)."""
        x, y = self.pixel(ra, dec)
        margin = radius / self.pixel_scale
        ny, nx = self.shape
        return -0.5 - margin <= x < nx - 0.5 + margin and -0.5 - margin <= y < ny - 0.5 + margin

    def corners(self) -> list[tuple[float, float]]:
        ny, nx = self.shape
        pixels = [[-0.5, -0.5], [nx - 0.5, -0.5], [nx - 0.5, ny - 0.5], [-0.5, ny - 0.5]]
        return [(float(r), float(d)) for r, d in self.wcs.all_pix2world(pixels, 0)]

    def centre(self) -> tuple[float, float]:
        ny, nx = self.shape
        ra, dec = self.wcs.all_pix2world([[(nx - 1) / 2, (ny - 1) / 2]], 0)[0]
        return float(ra), float(dec)


def read_cube(path: str | Path) -> Cube:
    """Describe an astrocut cube: sector and detector from its headers, WCS from its FFI table."""
    from astrocut import TessCubeCutout

    path = Path(path)
    match = re.match(r"(tess-s\d{4}-\d-\d)-cube", path.name)
    if not match:
        raise ValueError(f"{path.name}: a cube is named tess-sSSSS-C-D-cube.fits")
    with fits.open(path, memmap=True) as hdul:
        primary = hdul[0].header
        ny, nx = hdul[1].header["NAXIS4"], hdul[1].header["NAXIS3"]
        table = hdul[2].data
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FITSFixedWarning)  # MJD-OBS filled in from DATE-OBS
            wcs = TessCubeCutout.parse_table_wcs(table)
        starts, stops = np.asarray(table["TSTART"], float), np.asarray(table["TSTOP"], float)
        return Cube(
            path=path,
            sector_name=match.group(1),
            sector=int(primary["SECTOR"]),
            camera=int(primary["CAMERA"]),
            ccd=int(primary["CCD"]),
            wcs=wcs,
            shape=(int(ny), int(nx)),
            t_min=float(Time(TJD_ZERO + starts.min(), format="jd").mjd),
            t_max=float(Time(TJD_ZERO + stops.max(), format="jd").mjd),
            exptime=round(float(np.median(stops - starts)) * 86400.0),
        )


def _number(form: dict[str, list[str]], key: str, default: float | None = None) -> float:
    values = form.get(key)
    if not values or values[0] == "":
        if default is None:
            raise TesscutError(f"missing parameter {key!r}")
        return default
    try:
        value = float(values[0])
    except ValueError:
        raise TesscutError(f"parameter {key!r} is not a number: {values[0]!r}") from None
    if not math.isfinite(value):
        raise TesscutError(f"parameter {key!r} is not finite: {values[0]!r}")
    return value


def _position(form: dict[str, list[str]]) -> tuple[float, float]:
    ra, dec = _number(form, "ra"), _number(form, "dec")
    if not -90.0 <= dec <= 90.0:
        raise TesscutError(f"dec out of range: {dec}")
    return ra % 360.0, dec


class TesscutService:
    """The cubes served and the answers of the TESScut endpoints."""

    def __init__(self) -> None:
        self.cubes: list[Cube] = []
        self._lock = threading.Lock()
        self._zips: dict[tuple[Any, ...], bytes] = {}
        self._obsids = itertools.count(80_000_001)
        self._rows: dict[str, dict[str, Any]] = {}

    def add_cube(self, path: str | Path) -> Cube:
        cube = read_cube(path)
        with self._lock:
            if any(c.sector_name == cube.sector_name for c in self.cubes):
                raise ValueError(f"{cube.sector_name} is already served")
            self.cubes.append(cube)
            self._rows[cube.sector_name] = self._observation(cube, str(next(self._obsids)))
        return cube

    # -- /tesscut/api/v0.1/sector ------------------------------------------------------------------
    def sectors(self, form: dict[str, list[str]]) -> dict[str, Any]:
        ra, dec = _position(form)
        radius = _number(form, "radius", 0.0)
        if radius < 0:
            raise TesscutError(f"radius must not be negative: {radius}")
        found = sorted((c for c in self.cubes if c.contains(ra, dec, radius)), key=lambda c: c.sector_name)
        return {
            "results": [
                {"sectorName": c.sector_name, "sector": str(c.sector), "camera": str(c.camera), "ccd": str(c.ccd)}
                for c in found
            ]
        }

    # -- /tesscut/api/v0.1/astrocut ----------------------------------------------------------------
    def cutout(self, form: dict[str, list[str]]) -> bytes | dict[str, Any]:
        """A zip of one cutout per matching sector, or ``{"msg": ...}`` when there are none."""
        ra, dec = _position(form)
        x = _number(form, "x")
        y = _number(form, "y", x)
        units = (form.get("units") or ["px"])[0].lower()
        if units not in {"px", "d"}:
            raise TesscutError(f"units must be px or d, got {units!r}")
        if x <= 0 or y <= 0:
            raise TesscutError(f"cutout size must be positive, got x={x} y={y}")
        product = (form.get("product") or ["SPOC"])[0]
        if product.upper() != "SPOC":
            raise TesscutError(f"unknown product {product!r}")
        sector = None
        if form.get("sector") and form["sector"][0] != "":
            try:
                sector = int(form["sector"][0])
            except ValueError:
                raise TesscutError(f"sector is not an integer: {form['sector'][0]!r}") from None
        cubes = [c for c in self.cubes if (sector is None or c.sector == sector) and c.contains(ra, dec)]
        if not cubes:
            where = f"sector {sector}" if sector is not None else "any sector"
            return {"msg": f"The requested position ({ra}, {dec}) is not in {where}"}
        # astrocut 1.4 takes the first size element along x for cube cutouts (its limits loop runs over
        # the axes x, y), though its docstring says (ny, nx): x= must come out as the width, as the name says.
        size = (round(x), round(y)) if units == "px" else (x, y)
        key = (tuple(c.sector_name for c in cubes), ra, dec, size, units)
        with self._lock:
            cached = self._zips.get(key)
        if cached is None:
            cached = self._cut(cubes, ra, dec, size, units)
            with self._lock:
                self._zips[key] = cached
        return cached

    @staticmethod
    def _cut(cubes: list[Cube], ra: float, dec: float, size: tuple[float, float], units: str) -> bytes:
        import astropy.units as u
        from astrocut import TessCubeCutout
        from astropy.coordinates import SkyCoord

        cutout_size: Any = size if units == "px" else u.Quantity(size, u.deg)
        cutter = TessCubeCutout([str(c.path) for c in cubes], SkyCoord(ra, dec, unit="deg"), cutout_size=cutout_size)
        with tempfile.TemporaryDirectory(prefix="tesscut-") as scratch:
            return Path(cutter.write_as_zip(scratch, "astrocut.zip", legacy_filenames=True)).read_bytes()

    # -- CAOM rows -------------------------------------------------------------------------------
    def observations(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(row) for row in self._rows.values()]

    def observations_at(self, ra: float, dec: float, radius: float) -> list[dict[str, Any]]:
        """FFI rows whose image the cone touches, as MAST matches footprints (distance to the centre)."""
        from .portal import separation_deg

        with self._lock:
            pairs = [(c, dict(self._rows[c.sector_name])) for c in self.cubes if c.contains(ra, dec, radius)]
        return [{**row, "distance": separation_deg(ra, dec, row["s_ra"], row["s_dec"]) * 3600.0} for _, row in pairs]

    @staticmethod
    def _observation(cube: Cube, obsid: str) -> dict[str, Any]:
        ra, dec = cube.centre()
        polygon = " ".join(f"{r:.8f} {d:.8f}" for r, d in cube.corners())
        return {
            "intentType": "science",
            "obs_collection": "TESS",
            "provenance_name": "SPOC",
            "instrument_name": "Photometer",
            "project": "TESS",
            "filters": "TESS",
            "wavelength_region": "Optical",
            "target_name": "TESS FFI",
            "target_classification": "",
            "obs_id": cube.sector_name,
            "s_ra": ra,
            "s_dec": dec,
            "dataproduct_type": "image",
            "proposal_pi": "Ricker, George",
            "calib_level": 2,
            "t_min": cube.t_min,
            "t_max": cube.t_max,
            "t_exptime": cube.exptime,
            "em_min": 600.0,
            "em_max": 1000.0,
            "obs_title": "TESS Full Frame Images",
            "t_obs_release": cube.t_max + 30.0,
            "proposal_id": "N/A",
            "proposal_type": "",
            "sequence_number": cube.sector,
            "s_region": f"POLYGON {polygon}",
            "jpegURL": None,
            "dataURL": None,
            "dataRights": "PUBLIC",
            "mtFlag": False,
            "srcDen": None,
            "obsid": obsid,
            "objID": str(int(obsid) + 500_000_000),
        }
