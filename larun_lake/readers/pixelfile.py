"""Target pixel files and TESScut cutouts: which kind a file is, its identity, and its light curve.

A pixel file becomes one light curve per aperture. The file's own hash identifies the pixel file;
the light curve's version hash covers the file's hash and the aperture, since the same file summed
over two apertures gives two light curves, each with versions of its own.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import ProductError
from ..layout import make_lc_id, period_key
from .detect import nominal_exptime
from .fitsfile import FitsFile
from .lightcurve import INT32_RANGE, LightCurveData, _float, _median, _ranged_int, _str

PIXEL_KIND_ERROR_TYPE = "target_pixel"  # what an unreadable pixel file is recorded as when its kind is unclear


def _text(value: object) -> str:
    return str(value or "").strip()


def is_pixel_file(ff: FitsFile) -> bool:
    """A PIXELS table (pipeline TPFs and cutouts), or the pipeline's pixel exporter without a light-curve table."""
    tables = [h for h in ff.hdus[1:] if h.kind == "table"]
    if any(_text(h.header.get("EXTNAME")) == "PIXELS" for h in tables):
        return True
    creator = _text(ff.hdus[0].header.get("CREATOR")) if ff.hdus else ""
    return "TargetPixelExporter" in creator and not any(_text(h.header.get("EXTNAME")) == "LIGHTCURVE" for h in tables)


@dataclass(frozen=True)
class PixelKind:
    product_type: str  # 'target_pixel' | 'ffi_cutout'
    mission: str  # 'TESS' | 'Kepler' | 'K2'
    author: str  # 'SPOC-TPF' | 'Kepler-TPF' | 'K2-TPF' | 'TESScut'
    id_keyword: str | None  # TICID | KEPLERID; cutouts have no target
    period_keyword: str  # SECTOR | QUARTER | CAMPAIGN


def pixel_kind(ff: FitsFile) -> PixelKind:
    name = str(ff.path)
    primary = ff.hdus[0].header
    telescope, origin = _text(primary.get("TELESCOP")), _text(primary.get("ORIGIN"))
    if telescope == "TESS" and "stsci" in origin.lower():
        return PixelKind("ffi_cutout", "TESS", "TESScut", None, "SECTOR")
    if telescope == "TESS" and origin == "NASA/Ames":
        return PixelKind("target_pixel", "TESS", "SPOC-TPF", "TICID", "SECTOR")
    if telescope == "Kepler" and origin == "NASA/Ames":
        if _text(primary.get("MISSION")) == "K2":
            return PixelKind("target_pixel", "K2", "K2-TPF", "KEPLERID", "CAMPAIGN")
        return PixelKind("target_pixel", "Kepler", "Kepler-TPF", "KEPLERID", "QUARTER")
    raise ProductError(name, f"pixel file of no known pipeline (TELESCOP={telescope!r}, ORIGIN={origin!r})",
                       state="skipped")


class PixelProduct:
    """One pixel file opened for ingest, with the aperture its light curve is to use."""

    def __init__(self, ff: FitsFile, kind: PixelKind, aperture: Any, target_id: int | None = None) -> None:
        from ..pixels.spec import aperture_spec

        self.ff = ff
        self.kind = kind
        self.given_target = target_id  # a cutout's TIC, from the harvest that asked for it
        self.spec = aperture_spec(aperture)
        self.name = str(ff.path)
        if ff.problem:
            raise ProductError(self.name, ff.problem)
        self.primary = ff.hdus[0].header
        self.table = next((h for h in ff.hdus[1:] if _text(h.header.get("EXTNAME")) == "PIXELS"), None)
        if self.table is None:
            raise ProductError(self.name, "target pixel file has no PIXELS table")
        if len(ff.hdus) < 3 or ff.hdus[2].kind != "image":
            raise ProductError(self.name, "target pixel file has no aperture extension (HDU 2)")
        self.aperture_image = _aperture_image(ff)
        self.tag = self.spec.tag_for(self.aperture_image)

    @classmethod
    def open(cls, ff: FitsFile, aperture: Any = "default", *, target_id: int | None = None) -> PixelProduct:
        return cls(ff, pixel_kind(ff), aperture, target_id)

    @property
    def product_type(self) -> str:
        return self.kind.product_type

    @property
    def version_sha256(self) -> str:
        return hashlib.sha256(f"{self.ff.sha256}/{self.tag}".encode()).hexdigest()

    def lightcurve(self) -> tuple[LightCurveData, dict[str, Any]]:
        """The light curve of the aperture (every cadence; quality masks apply later), and the pixel_files row."""
        from ..pixels.photometry import aperture_photometry
        from ..pixels.read import read_pixel_file

        kind, name, primary, header = self.kind, self.name, self.primary, self.table.header
        pixels = read_pixel_file(self.ff)
        mask = self.spec.resolve(pixels)
        columns = aperture_photometry(pixels, mask)
        if len(columns["time"]) == 0:
            raise ProductError(name, "target pixel file has no cadences")
        number = _ranged_int(primary, kind.period_keyword, name, 0, 9999)
        if number is None:
            raise ProductError(name, f"no {kind.period_keyword} in the primary header")
        target_id = self._target_id()
        timedel = _float(header.get("TIMEDEL"))
        if not timedel or timedel <= 0:
            raise ProductError(name, "pixel table has no TIMEDEL: cannot tell the cadence")
        exptime = nominal_exptime(kind.mission, timedel * 86400.0)
        period = period_key(kind.mission, number)
        ny, nx = pixels.flux.shape[1:]
        size = f"{nx}x{ny}" if kind.product_type == "ffi_cutout" else None
        segment_parts = []
        if kind.mission == "Kepler" and exptime == 60:
            segment_parts.append(f"c{int(columns['cadenceno'][0])}")  # three short-cadence files per quarter
        if size:
            segment_parts.append(size)
        segment_parts.append(self.tag)
        lc_target = target_id if target_id is not None else _position_key(primary)
        # The product's identity, and its light curve's: that identity plus the aperture.
        pixel_id = make_lc_id(kind.mission, kind.author, lc_target, period, exptime, ".".join(segment_parts))
        segment = ".".join([*segment_parts, self.tag])
        lc_id = make_lc_id(kind.mission, kind.author, lc_target, period, exptime, segment)
        meta = self._metadata(columns, target_id, number, period, segment, lc_id, exptime, timedel)
        meta.update(
            file_sha256=self.version_sha256,
            pixel_sha256=self.ff.sha256,
            aperture=self.tag,
            n_aperture_pixels=int(mask.sum()),
        )
        row = self._pixel_row(pixels, meta, size, exptime, pixel_id)
        if row["default_aperture"] == self.tag:
            row["default_aperture_pixels"] = int(mask.sum())
        return LightCurveData(meta, columns), row

    def _metadata(self, columns: dict, target_id: int | None, number: int, period: str, segment: str, lc_id: str,
                  exptime: int, timedel: float) -> dict[str, Any]:
        from ..quality import PRESETS, bitmask_for

        kind, name, primary, header = self.kind, self.name, self.primary, self.table.header
        time, flux, quality = columns["time"], columns["flux"], columns["quality"]
        sector = number if kind.mission == "TESS" else None
        medians, n_good = {}, 0
        for preset in PRESETS:
            keep = np.isfinite(time) & ((quality & bitmask_for(kind.mission, kind.author, preset, sector)) == 0)
            medians[f"median_flux_{preset}"] = _median(flux[keep])
            if preset == "default":
                n_good = int(np.count_nonzero(keep & np.isfinite(flux)))
        finite_time = time[np.isfinite(time)]
        return {
            "lc_id": lc_id,
            "mission": kind.mission,
            "author": kind.author,
            "target_id": target_id,
            "tic_id": target_id if kind.mission == "TESS" else None,
            "sector": sector,
            "quarter": number if kind.mission == "Kepler" else None,
            "campaign": number if kind.mission == "K2" else None,
            "period": period,
            "segment": segment,
            "exptime_s": exptime,
            "cadence_s": timedel * 86400.0,
            "n_cadences": len(time),
            "n_good": n_good,
            "time_start": float(finite_time.min()) if finite_time.size else None,
            "time_stop": float(finite_time.max()) if finite_time.size else None,
            "bjdrefi": _ranged_int(header, "BJDREFI", name, *INT32_RANGE),
            "bjdreff": _float(header.get("BJDREFF")) or 0.0,
            "ra": _float(primary.get("RA_OBJ")),
            "dec": _float(primary.get("DEC_OBJ")),
            "tmag": _float(primary.get("TESSMAG")),
            "kepmag": _float(primary.get("KEPMAG")),
            "teff": _float(primary.get("TEFF")),
            "logg": _float(primary.get("LOGG")),
            "radius": _float(primary.get("RADIUS")),
            "camera": _ranged_int(primary, "CAMERA", name, *INT32_RANGE),
            "ccd": _ranged_int(primary, "CCD", name, *INT32_RANGE),
            "procver": _str(primary.get("PROCVER")),
            "data_rel": _ranged_int(primary, "DATA_REL", name, *INT32_RANGE),
            "filever": _str(primary.get("FILEVER")),
            "file_date": _str(primary.get("DATE")),
            "flux_column": "sap_flux",  # the aperture sum, as lightkurve's to_lightcurve() makes it
            "flux_err_column": "sap_flux_err",
            "flux_unit": _str(header.get(f"TUNIT{_column_index(header, 'FLUX')}")) or "e-/s",
            "checksum_ok": self.ff.checksum_ok,
            "file_name": self.ff.path.name,
            "file_size": self.ff.size_bytes,
            **medians,
        }

    def _target_id(self) -> int | None:
        if self.kind.id_keyword is None:
            value = _ranged_int(self.primary, "TICID", self.name, 0, 2**63 - 1)  # astrocut writes 0
            return value or self.given_target
        value = _ranged_int(self.primary, self.kind.id_keyword, self.name, 1, 2**63 - 1)
        if value is None:
            raise ProductError(self.name, f"no target id in the primary header ({self.kind.id_keyword})")
        return value

    def _pixel_row(self, pixels: Any, meta: dict, size: str | None, exptime: int, pixel_id: str) -> dict:
        ny, nx = pixels.flux.shape[1:]
        wcs_ra, wcs_dec = _wcs_centre(self.ff.hdus[2].header, nx, ny)
        header = self.table.header
        return {
            "file_sha256": self.ff.sha256,
            "pixel_id": pixel_id,
            "product_type": self.kind.product_type,
            "mission": self.kind.mission,
            "author": self.kind.author,
            "target_id": meta["target_id"],
            "tic_id": meta["tic_id"],
            "sector": meta["sector"],
            "quarter": meta["quarter"],
            "campaign": meta["campaign"],
            "period": meta["period"],
            "camera": meta["camera"],
            "ccd": meta["ccd"],
            "n_rows": int(ny),
            "n_cols": int(nx),
            "cutout_size": size,
            "exptime_s": exptime,
            "cadence_s": meta["cadence_s"],
            "n_cadences": meta["n_cadences"],
            "time_start": meta["time_start"],
            "time_stop": meta["time_stop"],
            "bjdrefi": meta["bjdrefi"],
            "bjdreff": meta["bjdreff"],
            "ra": meta["ra"],
            "dec": meta["dec"],
            "wcs_ra": wcs_ra,
            "wcs_dec": wcs_dec,
            "corner_column": _ranged_int(header, "1CRV5P", self.name, *INT32_RANGE),
            "corner_row": _ranged_int(header, "2CRV5P", self.name, *INT32_RANGE),
            "pipeline_pixels": int(np.count_nonzero((self.aperture_image & 2) > 0)),
            "default_aperture": self.spec.tag_for(self.aperture_image, default=True),
            "default_aperture_pixels": None,
            "procver": meta["procver"],
            "data_rel": meta["data_rel"],
            "file_date": meta["file_date"],
            "checksum_ok": meta["checksum_ok"],
            "file_name": self.ff.path.name,
            "file_size": self.ff.size_bytes,
        }


def _column_index(header: dict, name: str) -> int:
    for i in range(1, int(header.get("TFIELDS") or 0) + 1):
        if _text(header.get(f"TTYPE{i}")).upper() == name:
            return i
    return 0


def _aperture_image(ff: FitsFile) -> np.ndarray:
    """HDU 2 as integers (astrocut 1.4 writes int32, 2018 cutouts float)."""
    from astropy.io import fits

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            with fits.open(io.BytesIO(ff.raw), memmap=False, lazy_load_hdus=True) as hdul:
                data = hdul[2].data
        except Exception as exc:
            raise ProductError(str(ff.path), f"unreadable aperture extension ({type(exc).__name__}: {exc})") from exc
    if data is None or data.ndim != 2:
        raise ProductError(str(ff.path), "target pixel file has no aperture image in HDU 2")
    return np.nan_to_num(np.asarray(data, dtype=np.float64)).astype(np.int64)


def _wcs_centre(header: dict, nx: int, ny: int) -> tuple[float | None, float | None]:
    from astropy.io import fits
    from astropy.wcs import WCS

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            wcs = WCS(fits.Header({k: v for k, v in header.items() if isinstance(k, str) and len(k) <= 8}))
            if not wcs.has_celestial:
                return None, None
            ra, dec = wcs.celestial.wcs_pix2world([[(nx - 1) / 2.0, (ny - 1) / 2.0]], 0)[0]
    except Exception:
        return None, None
    return (float(ra), float(dec)) if np.isfinite(ra) and np.isfinite(dec) else (None, None)


def _position_key(primary: dict) -> str:
    """A cutout with no TIC is named by its requested position, rounded as its identity is."""
    ra, dec = _float(primary.get("RA_OBJ")), _float(primary.get("DEC_OBJ"))
    if ra is None or dec is None:
        raise ProductError("cutout", "cutout has neither a TIC id nor RA_OBJ/DEC_OBJ")
    return f"{ra:.4f}{dec:+.4f}"

