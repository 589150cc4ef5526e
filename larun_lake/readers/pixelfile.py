"""Target pixel files and TESScut cutouts as lake products: identity, catalog rows, light curve.

The pixels themselves are read and summed by larun_lake/pixels/. A pixel file gives one light curve
per aperture. The file's own hash identifies the pixel file; the light curve's version hash covers
the file's hash and the aperture tag, since the same file summed over two apertures gives two light
curves, each with versions of its own. The tag is known from the headers and the APERTURE image
alone, so a file whose light curve with that aperture is in the lake already is not read again.
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np

from ..errors import ProductError
from ..layout import make_lc_id, period_key
from ..pixels.read import PixelData, _aperture_image, _int, _kind, _named, _tess_position, read_pixel_file
from ..pixels.spec import aperture_spec
from .fitsfile import FitsFile
from .lightcurve import LightCurveData, _float, _median, _str

PIXEL_KIND_ERROR_TYPE = "target_pixel"  # what an unreadable pixel file is recorded as when its kind is unclear


def _text(value: object) -> str:
    return str(value or "").strip()


class PixelProduct:
    """One pixel file opened for ingest, with the aperture its light curve is to use."""

    def __init__(self, ff: FitsFile, aperture: Any = "default", *, target_id: int | None = None) -> None:
        self.ff = ff
        self.name = str(ff.path)
        self.given_target = target_id  # a cutout's TIC, from the harvest that asked for it
        self.spec = aperture_spec(aperture)
        if ff.problem:
            raise ProductError(self.name, ff.problem)
        self.product_type, self.mission, self.author = _kind(ff.hdus[0].header, self.name)
        self.pipeline_pixels = self._pipeline_pixels()
        self.tag = self.spec.tag_for(self.pipeline_pixels)

    def kept_row(self) -> dict[str, Any] | None:
        """What placing the file in the raw area needs, from the headers alone (None without a period)."""
        primary = self.ff.hdus[0].header
        if self.mission == "TESS":
            number = _tess_position(primary, self.ff.path.name)[0]
        else:
            number = _int(primary.get("QUARTER" if self.mission == "Kepler" else "CAMPAIGN"))
        if number is None:
            return None
        return {"file_name": self.ff.path.name, "product_type": self.product_type, "mission": self.mission,
                "period": period_key(self.mission, number)}

    @property
    def version_sha256(self) -> str:
        return hashlib.sha256(f"{self.ff.sha256}/{self.tag}".encode()).hexdigest()

    def _pipeline_pixels(self) -> int | None:
        """Pixels of the pipeline aperture (every pixel for a float APERTURE, as lightkurve takes it); None: no HDU."""
        hdu = _named(self.ff, "APERTURE", "image") or (self.ff.hdus[2] if len(self.ff.hdus) > 2 else None)
        if hdu is None or hdu.kind != "image" or int(hdu.header.get("NAXIS") or 0) != 2:
            raise ProductError(self.name, "target pixel file has no aperture extension")
        dims = (int(hdu.header.get("NAXIS2") or 0), int(hdu.header.get("NAXIS1") or 0))
        image, integer = _aperture_image(self.ff, hdu, dims, self.name)
        return int(np.count_nonzero((image & 2) > 0)) if integer else image.size

    def lightcurve(self) -> tuple[LightCurveData, dict[str, Any]]:
        """The light curve of the aperture (every cadence; quality masks apply later), and the pixel_files row."""
        from ..pixels.photometry import aperture_photometry

        pixels = read_pixel_file(self.ff.path, ff=self.ff)
        aperture = self.spec.resolve(pixels)
        if aperture.tag != self.tag:  # the headers promised another aperture: a reader bug, never a silent mix-up
            raise ProductError(self.name, f"aperture {aperture.tag} resolved where {self.tag} was expected")
        columns = aperture_photometry(pixels, aperture.mask)
        number = {"TESS": pixels.sector, "Kepler": pixels.quarter, "K2": pixels.campaign}[pixels.mission]
        if number is None:
            raise ProductError(self.name, "no sector, quarter or campaign in the headers")
        if pixels.exptime_s <= 0:
            raise ProductError(self.name, "cannot tell the cadence (no TIMEDEL, no two finite times)")
        target_id = pixels.target_id or (self.given_target if pixels.product_type == "ffi_cutout" else None)
        if target_id is None and pixels.product_type != "ffi_cutout":
            raise ProductError(self.name, "no target id in the primary header")
        period = period_key(pixels.mission, number)
        ny, nx = pixels.shape
        size = f"{nx}x{ny}" if pixels.product_type == "ffi_cutout" else None
        segment = []
        if pixels.mission == "Kepler" and pixels.exptime_s == 60:
            segment.append(f"c{int(columns['cadenceno'][0])}")  # three short-cadence files per quarter
        if size:
            segment.append(size)
        tic_id = target_id if pixels.mission == "TESS" else None
        lc_target: int | str = target_id if target_id is not None else _position_key(pixels)
        if target_id is None:
            target_id = position_target_id(pixels)
        # The product's identity, and its light curve's: that identity plus the aperture.
        pixel_id = make_lc_id(pixels.mission, pixels.author, lc_target, period, pixels.exptime_s, ".".join(segment))
        lc_segment = ".".join([*segment, aperture.tag])
        lc_id = make_lc_id(pixels.mission, pixels.author, lc_target, period, pixels.exptime_s, lc_segment)
        meta = _metadata(pixels, self.ff, columns, target_id, number, period, lc_segment, lc_id)
        meta["tic_id"] = tic_id
        meta.update(file_sha256=self.version_sha256, pixel_sha256=self.ff.sha256, aperture=aperture.tag,
                    n_aperture_pixels=aperture.n_pixels)
        default_tag = self.spec.tag_for(self.pipeline_pixels, default=True)
        row = {
            "file_sha256": self.ff.sha256,
            "pixel_id": pixel_id,
            "product_type": pixels.product_type,
            **{k: meta[k] for k in ("mission", "author", "target_id", "tic_id", "sector", "quarter", "campaign",
                                    "period", "camera", "ccd", "cadence_s", "n_cadences", "time_start", "time_stop",
                                    "bjdrefi", "bjdreff", "ra", "dec", "procver", "data_rel", "file_date",
                                    "checksum_ok", "file_name", "file_size")},
            "n_rows": ny,
            "n_cols": nx,
            "cutout_size": size,
            "exptime_s": pixels.exptime_s,
            "wcs_ra": pixels.wcs_ra,
            "wcs_dec": pixels.wcs_dec,
            "corner_column": pixels.ref_col,
            "corner_row": pixels.ref_row,
            "pipeline_pixels": self.pipeline_pixels if pixels.aperture_is_integer else 0,
            "default_aperture": default_tag,
            "default_aperture_pixels": aperture.n_pixels if aperture.tag == default_tag else None,
        }
        return LightCurveData(meta, columns), row


def _metadata(pixels: PixelData, ff: FitsFile, columns: dict, target_id: int | None, number: int, period: str,
              segment: str, lc_id: str) -> dict[str, Any]:
    from ..quality import PRESETS, bitmask_for

    mission, author = pixels.mission, pixels.author
    time, flux, quality = columns["time"], columns["flux"], columns["quality"]
    sector = number if mission == "TESS" else None
    medians, n_good = {}, 0
    for preset in PRESETS:
        keep = np.isfinite(time) & ((quality & bitmask_for(mission, author, preset, sector)) == 0)
        medians[f"median_flux_{preset}"] = _median(flux[keep])
        if preset == "default":
            n_good = int(np.count_nonzero(keep & np.isfinite(flux)))
    finite = time[np.isfinite(time)]
    primary, header = pixels.primary_header, pixels.table_header
    return {
        "lc_id": lc_id,
        "mission": mission,
        "author": author,
        "target_id": target_id,
        "tic_id": target_id if mission == "TESS" else None,
        "sector": sector,
        "quarter": number if mission == "Kepler" else None,
        "campaign": number if mission == "K2" else None,
        "period": period,
        "segment": segment,
        "exptime_s": pixels.exptime_s,
        "cadence_s": pixels.cadence_s,
        "n_cadences": len(time),
        "n_good": n_good,
        "time_start": float(finite.min()) if finite.size else None,
        "time_stop": float(finite.max()) if finite.size else None,
        "bjdrefi": pixels.bjdrefi,
        "bjdreff": pixels.bjdreff,
        "ra": pixels.ra_obj,
        "dec": pixels.dec_obj,
        "tmag": _float(primary.get("TESSMAG")),
        "kepmag": _float(primary.get("KEPMAG")),
        "teff": _float(primary.get("TEFF")),
        "logg": _float(primary.get("LOGG")),
        "radius": _float(primary.get("RADIUS")),
        "camera": pixels.camera,
        "ccd": pixels.ccd,
        "procver": pixels.procver,
        "data_rel": pixels.data_rel,
        "filever": _str(primary.get("FILEVER")),
        "file_date": _str(primary.get("DATE")),
        "flux_column": "aperture_sum",  # lightkurve's to_lightcurve(): the FLUX pixels summed over the aperture
        "flux_err_column": "aperture_sum_err",
        "flux_unit": _str(header.get(f"TUNIT{_column_index(header, 'FLUX')}")) or "e-/s",
        "checksum_ok": ff.checksum_ok,
        "file_name": ff.path.name,
        "file_size": ff.size_bytes,
        **medians,
    }


def _column_index(header: dict, name: str) -> int:
    for i in range(1, int(header.get("TFIELDS") or 0) + 1):
        if _text(header.get(f"TTYPE{i}")).upper() == name:
            return i
    return 0


def position_target_id(pixels: PixelData) -> int:
    """The target id of a cutout that names no TIC: negative (no catalogue uses those), one per position
    rounded to 1e-4 degree, so that its cutouts of several sectors are one target's (and stitch together)."""
    ra, dec = _position(pixels)
    return -(round(ra % 360 * 1e4) * 10**7 + round((dec + 90) * 1e4))


def _position(pixels: PixelData) -> tuple[float, float]:
    if pixels.ra_obj is None or pixels.dec_obj is None:
        raise ProductError(str(pixels.path), "cutout has neither a TIC id nor RA_OBJ/DEC_OBJ")
    return pixels.ra_obj, pixels.dec_obj


def _position_key(pixels: PixelData) -> str:
    """A cutout with no TIC is named by its requested position in lc_id, rounded as its identity is."""
    ra, dec = _position(pixels)
    return f"{ra:.4f}{dec:+.4f}"
