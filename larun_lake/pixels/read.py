"""Read a target pixel file or a TESScut cutout into numpy arrays and the header facts the lake records.

The file is read once (readers/fitsfile.py: bytes, SHA-256, CHECKSUM verdict, headers); the PIXELS
table, whose FLUX-like columns are one image per cadence, is viewed in place with a numpy dtype built
from its TFORM/TDIM cards. Per-cadence columns are converted to native arrays at once; the image
columns (a 44 MB table for an 11x11 stamp of 18,000 cadences) stay in place and are converted a
block of cadences at a time as photometry needs them (`PixelData.blocks`), so no full-size copy is
made; `PixelData.flux` and the like convert the whole cube when asked.

What is refused, one line each (ProductError, state 'quarantined'):
- a truncated or corrupt file (as for light curves);
- no PIXELS table, or one without FLUX/QUALITY (lightkurve needs both);
- no APERTURE extension ("target pixel file has no aperture extension");
- a stamp of zero size or a table of zero cadences;
- no pixel with data. astrocut pads the part of a cutout that falls off the detector with NaN and
  marks it 0 in APERTURE (1 = on the detector), and writes no file at all when nothing overlaps.
  So a cutout whose APERTURE is all 0, or any pixel file whose FLUX is NaN in every pixel of every
  cadence, lies off the detector; a cutout only partly off the edge is kept (its NaN pixels are
  skipped by the aperture sum, as lightkurve does).
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ProductError
from ..readers.fitsfile import HDU, FitsFile, open_fits

BTJD_REF = 2457000  # TESS times are BJD - 2457000 (cutouts do not say so in a BJDREFI card)
_CUTOUT_NAME = re.compile(r"tess-s(?P<sector>\d{4})-(?P<camera>\d)-(?P<ccd>\d)")
_TFORM = re.compile(r"^(?P<repeat>\d*)(?P<code>[LBIJKEDA])$")
_CODES = {"L": "i1", "B": "u1", "I": ">i2", "J": ">i4", "K": ">i8", "E": ">f4", "D": ">f8"}
# Cadences whose images are converted together: the temporaries of a block (a few hundred kB for an
# 11x11 stamp) stay in the CPU cache and reuse freed memory instead of faulting in fresh pages.
BLOCK_CADENCES = 512


@dataclass
class PixelData:
    """One pixel file: per-cadence columns, (n, ny, nx) cubes, the aperture image and header facts."""

    path: Path
    product_type: str  # 'target_pixel' | 'ffi_cutout'
    mission: str  # 'TESS' | 'Kepler' | 'K2'
    author: str  # 'SPOC-TPF' | 'Kepler-TPF' | 'K2-TPF' | 'TESScut'
    target_id: int | None  # TICID / KEPLERID; None for cutouts (their TIC fields are zero)
    sector: int | None
    quarter: int | None
    campaign: int | None
    camera: int | None
    ccd: int | None
    ra_obj: float | None
    dec_obj: float | None
    bjdrefi: int
    bjdreff: float
    cadence_s: float
    exptime_s: int
    shape: tuple[int, int]  # (ny, nx): rows, columns of the stamp
    ref_col: int  # CCD column of the stamp's first pixel (1CRV5P), as lightkurve's tpf.column
    ref_row: int  # CCD row (2CRV5P), as tpf.row
    wcs_ra: float | None  # sky position of the stamp's centre
    wcs_dec: float | None
    telescope: str
    origin: str
    creator: str
    procver: str | None
    data_rel: int | None
    file_size: int
    file_sha256: str
    checksum_ok: bool | None
    time: np.ndarray = field(repr=False)
    timecorr: np.ndarray = field(repr=False)
    cadenceno: np.ndarray = field(repr=False)
    quality: np.ndarray = field(repr=False)
    rows: np.ndarray = field(repr=False)  # the PIXELS table's rows, in place (image columns unconverted)
    pos_corr1: np.ndarray | None = field(repr=False)
    pos_corr2: np.ndarray | None = field(repr=False)
    aperture: np.ndarray = field(repr=False)  # the APERTURE image as int32
    # Early TESScut files store APERTURE as floats: lightkurve then takes every pixel as the pipeline mask.
    aperture_is_integer: bool = True
    primary_header: dict[str, Any] = field(default_factory=dict, repr=False)
    table_header: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def n_cadences(self) -> int:
        return len(self.time)

    def has(self, column: str) -> bool:
        return column in self.rows.dtype.names

    def cube(self, column: str, cadences: slice = slice(None)) -> np.ndarray:
        """Images of `cadences` as native float32 (k, ny, nx); all NaN when the file has no such column."""
        whole = self.__dict__.get(_CUBE_PROPERTIES.get(column, ""))
        if whole is not None:  # converted whole already
            return whole[cadences]
        if not self.has(column):
            return np.full((len(range(*cadences.indices(self.n_cadences))), *self.shape), np.nan, np.float32)
        return np.asarray(self.rows[column][cadences], dtype=np.float32)

    def in_mask(self, column: str, cadences: slice, mask: np.ndarray) -> np.ndarray:
        """The mask's pixels of `cadences` as native float32 (k, n_pixels), row-major as cube[:, mask].

        Only those pixels are converted from the file's big-endian values.
        """
        whole = self.__dict__.get(_CUBE_PROPERTIES.get(column, ""))
        if whole is not None or not self.has(column):
            return self.cube(column, cadences)[:, mask]
        return np.asarray(self.rows[column][cadences][:, mask], dtype=np.float32)

    def blocks(self) -> Iterator[slice]:
        """The cadences BLOCK_CADENCES at a time."""
        for start in range(0, self.n_cadences, BLOCK_CADENCES):
            yield slice(start, min(start + BLOCK_CADENCES, self.n_cadences))

    @cached_property
    def flux(self) -> np.ndarray:
        return self.cube("FLUX")

    @cached_property
    def flux_err(self) -> np.ndarray:
        return self.cube("FLUX_ERR")

    @cached_property
    def flux_bkg(self) -> np.ndarray | None:
        return self.cube("FLUX_BKG") if self.has("FLUX_BKG") else None

    @cached_property
    def flux_bkg_err(self) -> np.ndarray | None:
        return self.cube("FLUX_BKG_ERR") if self.has("FLUX_BKG_ERR") else None


_CUBE_PROPERTIES = {"FLUX": "flux", "FLUX_ERR": "flux_err", "FLUX_BKG": "flux_bkg", "FLUX_BKG_ERR": "flux_bkg_err"}


def read_pixel_file(path: str | Path, *, ff: FitsFile | None = None) -> PixelData:
    """Read one pixel file; raise ProductError with a one-line reason when it cannot give a light curve."""
    ff = ff or open_fits(path)
    name = str(ff.path)
    if ff.problem:
        raise ProductError(name, ff.problem)
    primary = ff.hdus[0].header
    table = _named(ff, "PIXELS", "table")
    if table is None:
        raise ProductError(name, "no PIXELS table: not a target pixel file")
    product_type, mission, author = _kind(primary, name)
    rows = _rows(ff, table)
    for needed in ("FLUX", "QUALITY", "TIME"):
        if needed not in rows.dtype.names:
            raise ProductError(name, f"PIXELS table has no {needed} column")
    aperture_hdu = _named(ff, "APERTURE", "image") or (
        ff.hdus[2]
        if len(ff.hdus) > 2 and ff.hdus[2].kind == "image" and int(ff.hdus[2].header.get("NAXIS") or 0) == 2
        else None
    )
    if aperture_hdu is None:
        raise ProductError(name, "target pixel file has no aperture extension")
    if len(rows) == 0:
        raise ProductError(name, "target pixel file has no cadences")

    shape = _image_shape(rows, "FLUX", name)
    for column in ("FLUX_ERR", "FLUX_BKG", "FLUX_BKG_ERR"):
        if column in rows.dtype.names and _image_shape(rows, column, name) != shape:
            raise ProductError(name, f"PIXELS column {column} holds images of another shape than FLUX")
    if 0 in shape:
        raise ProductError(name, f"empty pixel stamp ({shape[0]}x{shape[1]})")
    aperture, integer = _aperture_image(ff, aperture_hdu, shape, name)
    if product_type == "ffi_cutout" and not (aperture != 0).any():
        raise ProductError(name, "cutout lies off the detector: APERTURE marks no pixel as on the CCD")
    if not _any_finite(rows["FLUX"]):
        where = "cutout lies off the detector" if product_type == "ffi_cutout" else "no pixel has data"
        raise ProductError(name, f"{where}: FLUX is NaN in every pixel of every cadence")

    th = table.header
    time = np.asarray(rows["TIME"], dtype=np.float64)
    cadenceno = np.asarray(rows["CADENCENO"], dtype=np.int32) if "CADENCENO" in rows.dtype.names else None
    sector, camera, ccd = _tess_position(primary, ff.path.name) if mission == "TESS" else (None, None, None)
    if mission != "TESS":
        camera, ccd = None, None
    cadence_s = _cadence_s(th, time)
    bjdrefi = _int(th.get("BJDREFI"))
    ref_col, ref_row = _int(th.get("1CRV5P")) or 0, _int(th.get("2CRV5P")) or 0
    target_id = _int(primary.get("TICID" if mission == "TESS" else "KEPLERID"))
    centre = stamp_centre(th, aperture_hdu.header, shape)
    return PixelData(
        path=ff.path,
        product_type=product_type,
        mission=mission,
        author=author,
        target_id=target_id if target_id else None,
        sector=sector,
        quarter=_int(primary.get("QUARTER")) if mission == "Kepler" else None,
        campaign=_int(primary.get("CAMPAIGN")) if mission == "K2" else None,
        camera=camera,
        ccd=ccd,
        ra_obj=_float(primary.get("RA_OBJ")),
        dec_obj=_float(primary.get("DEC_OBJ")),
        bjdrefi=bjdrefi if bjdrefi is not None else (BTJD_REF if mission == "TESS" else 2454833),
        bjdreff=_float(th.get("BJDREFF")) or 0.0,
        cadence_s=cadence_s,
        exptime_s=_nominal_exptime(product_type, mission, author, cadence_s),
        shape=(int(shape[0]), int(shape[1])),
        ref_col=ref_col,
        ref_row=ref_row,
        wcs_ra=centre[0],
        wcs_dec=centre[1],
        telescope=_text(primary.get("TELESCOP")),
        origin=_text(primary.get("ORIGIN")),
        creator=_text(primary.get("CREATOR")),
        procver=_text(primary.get("PROCVER")) or None,
        data_rel=_int(primary.get("DATA_REL")),
        file_size=ff.size_bytes,
        file_sha256=ff.sha256,
        checksum_ok=ff.checksum_ok,
        time=time,
        timecorr=_column(rows, "TIMECORR", np.float32),
        cadenceno=cadenceno if cadenceno is not None else np.zeros(len(rows), np.int32),
        quality=np.asarray(rows["QUALITY"], dtype=np.int32),
        rows=rows,
        pos_corr1=_column(rows, "POS_CORR1", np.float32),
        pos_corr2=_column(rows, "POS_CORR2", np.float32),
        aperture=aperture,
        aperture_is_integer=integer,
        primary_header=primary,
        table_header=th,
    )


# ---------------------------------------------------------------- kinds and header facts


def _kind(primary: dict[str, Any], name: str) -> tuple[str, str, str]:
    """(product_type, mission, author) from the headers, with lightkurve's own tests."""
    telescope = _text(primary.get("TELESCOP"))
    origin = _text(primary.get("ORIGIN"))
    creator = _text(primary.get("CREATOR")).lower()
    if telescope == "TESS":
        if "targetpixel" in creator:
            return "target_pixel", "TESS", "SPOC-TPF"
        if "stsci" in origin.lower():  # TESScut: ORIGIN='STScI/MAST'
            return "ffi_cutout", "TESS", "TESScut"
    elif telescope == "Kepler" and "targetpixel" in creator:
        mission = "K2" if _text(primary.get("MISSION")) == "K2" or primary.get("CAMPAIGN") is not None else "Kepler"
        return "target_pixel", mission, f"{mission}-TPF"
    raise ProductError(name, f"unknown pixel product (TELESCOP={telescope!r}, ORIGIN={origin!r}, CREATOR={creator!r})")


def _nominal_exptime(product_type: str, mission: str, author: str, cadence_s: float) -> int:
    """MAST's nominal exposure for the measured spacing (the kind declares its exposures); 0 when unknown."""
    from .. import kinds

    kind = kinds.kind_of(mission, author, product_type)
    return kind.nominal_exptime(cadence_s) if kind is not None and cadence_s > 0 else 0


def _tess_position(primary: dict[str, Any], file_name: str) -> tuple[int | None, int | None, int | None]:
    """Sector, camera, CCD; early cutouts leave SECTOR blank, their file name (tess-s0001-4-3_...) has it."""
    sector, camera, ccd = (_int(primary.get(k)) for k in ("SECTOR", "CAMERA", "CCD"))
    m = _CUTOUT_NAME.search(file_name)
    if m:
        sector = sector or int(m["sector"])
        camera = camera or int(m["camera"])
        ccd = ccd or int(m["ccd"])
    return sector, camera, ccd


def _cadence_s(table_header: dict[str, Any], time: np.ndarray) -> float:
    """TIMEDEL, or (cutouts have none) the median spacing of the finite times."""
    timedel = _float(table_header.get("TIMEDEL"))
    if timedel and timedel > 0:
        return timedel * 86400.0
    steps = np.diff(time[np.isfinite(time)])
    return float(np.median(steps)) * 86400.0 if steps.size else 0.0


def stamp_centre(
    table_header: dict[str, Any], aperture_header: dict[str, Any], shape
) -> tuple[float | None, float | None]:
    """(RA, Dec) in degrees of the stamp's centre, from the FLUX column's TAN WCS (1CRPX5 ...).

    Early cutouts leave that WCS unfilled (PC all zero); the APERTURE image's own WCS (CRPIX1 ...,
    with its SIP distortion terms A_p_q/B_p_q when CTYPE1 ends in -SIP) is used then.
    """
    ny, nx = shape
    for keys, header in ((_COLUMN_WCS, table_header), (_IMAGE_WCS, aperture_header)):
        values = [_float(header.get(k)) for k in keys]
        if any(v is None for v in values[:4]):
            continue
        crpix1, crpix2, crval1, crval2 = values[:4]
        cdelt1, cdelt2 = (v if v is not None else 1.0 for v in values[4:6])
        pc = [v if v is not None else d for v, d in zip(values[6:], (1.0, 0.0, 0.0, 1.0), strict=True)]
        if pc[0] * pc[3] - pc[1] * pc[2] == 0 or cdelt1 * cdelt2 == 0:
            continue
        dx, dy = (nx + 1) / 2 - crpix1, (ny + 1) / 2 - crpix2  # FITS pixel centres count from 1
        if keys is _IMAGE_WCS and _text(header.get("CTYPE1")).endswith("-SIP"):
            dx, dy = dx + _sip(header, "A", dx, dy), dy + _sip(header, "B", dx, dy)
        x = cdelt1 * (pc[0] * dx + pc[1] * dy)
        y = cdelt2 * (pc[2] * dx + pc[3] * dy)
        return _tan_to_sky(x, y, crval1, crval2)
    return None, None


# FLUX column (5th in every MAST pixel table) and image WCS keywords, in the order
# CRPIX1, CRPIX2, CRVAL1, CRVAL2, CDELT1, CDELT2, PC1_1, PC1_2, PC2_1, PC2_2.
_COLUMN_WCS = ("1CRPX5", "2CRPX5", "1CRVL5", "2CRVL5", "1CDLT5", "2CDLT5", "11PC5", "12PC5", "21PC5", "22PC5")
_IMAGE_WCS = ("CRPIX1", "CRPIX2", "CRVAL1", "CRVAL2", "CDELT1", "CDELT2", "PC1_1", "PC1_2", "PC2_1", "PC2_2")


def _sip(header: dict[str, Any], axis: str, u: float, v: float) -> float:
    """SIP distortion polynomial sum of {axis}_p_q * u**p * v**q (Shupe et al. 2005)."""
    order = _int(header.get(f"{axis}_ORDER")) or 0
    total = 0.0
    for p in range(order + 1):
        for q in range(order + 1 - p):
            coeff = _float(header.get(f"{axis}_{p}_{q}"))
            if coeff:
                total += coeff * u**p * v**q
    return total


def _tan_to_sky(x: float, y: float, ra0: float, dec0: float) -> tuple[float, float]:
    """Gnomonic (TAN) projection plane offsets in degrees -> (RA, Dec) (FITS WCS paper II, native pole at 180)."""
    r = math.hypot(x, y)
    phi = math.atan2(x, -y)
    theta = math.atan2(180.0 / math.pi, r)
    d0 = math.radians(dec0)
    dphi = phi - math.pi
    sin_dec = math.sin(theta) * math.sin(d0) + math.cos(theta) * math.cos(d0) * math.cos(dphi)
    ra = ra0 + math.degrees(
        math.atan2(
            -math.cos(theta) * math.sin(dphi),
            math.sin(theta) * math.cos(d0) - math.cos(theta) * math.sin(d0) * math.cos(dphi),
        )
    )
    return ra % 360.0, math.degrees(math.asin(max(-1.0, min(1.0, sin_dec))))


# ---------------------------------------------------------------- the PIXELS table


def _named(ff: FitsFile, extname: str, kind: str) -> HDU | None:
    return next((h for h in ff.hdus[1:] if h.kind == kind and _text(h.header.get("EXTNAME")).upper() == extname), None)


def _rows(ff: FitsFile, hdu: HDU) -> np.ndarray:
    """The table's rows, viewed in place when every column has a plain format (always, for MAST files)."""
    dtype = _table_dtype(hdu.header)
    if dtype is None:
        return ff.table(hdu.index)  # scaled or unusual columns: CFITSIO decodes them
    n_rows = int(hdu.header.get("NAXIS2") or 0)
    return np.frombuffer(ff.raw, dtype=dtype, count=n_rows, offset=hdu.offsets["data_start"])


def _table_dtype(header: dict[str, Any]) -> np.dtype | None:
    names, formats = [], []
    for i in range(1, int(header.get("TFIELDS") or 0) + 1):
        m = _TFORM.match(_text(header.get(f"TFORM{i}")).upper())
        if m is None or f"TSCAL{i}" in header or f"TZERO{i}" in header:
            return None
        repeat, code = int(m["repeat"] or 1), m["code"]
        names.append(_text(header.get(f"TTYPE{i}")) or f"col{i}")
        if code == "A":
            formats.append(f"S{repeat}")
            continue
        dims = _tdim(header.get(f"TDIM{i}"))
        if dims is not None and math.prod(dims) != repeat:
            return None
        shape = tuple(reversed(dims)) if dims else ((repeat,) if repeat != 1 else ())
        formats.append((_CODES[code], shape) if shape else _CODES[code])
    if not names or len(set(names)) != len(names):
        return None
    dtype = np.dtype({"names": names, "formats": formats})
    return dtype if dtype.itemsize == int(header.get("NAXIS1") or -1) else None


def _tdim(value: Any) -> tuple[int, ...] | None:
    text = _text(value).strip("()")
    if not text:
        return None
    try:
        return tuple(int(x) for x in text.split(","))
    except ValueError:
        return None


def _image_shape(rows: np.ndarray, column: str, name: str) -> tuple[int, int]:
    """(ny, nx) of a column holding one image per cadence."""
    shape = rows.dtype[column].shape
    if len(shape) != 2:
        raise ProductError(name, f"PIXELS column {column} is not an image per cadence (shape {shape})")
    return shape


def _any_finite(images: np.ndarray) -> bool:
    """Whether any pixel of any cadence holds a number, looking a block of cadences at a time."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return any(
            not np.isnan(images[start : start + BLOCK_CADENCES]).all()
            for start in range(0, len(images), BLOCK_CADENCES)
        )


def _column(rows: np.ndarray, column: str, dtype: type) -> np.ndarray | None:
    return np.asarray(rows[column], dtype=dtype) if column in rows.dtype.names else None


def _aperture_image(ff: FitsFile, hdu: HDU, shape: tuple[int, ...], name: str) -> tuple[np.ndarray, bool]:
    header = hdu.header
    bitpix = int(header.get("BITPIX") or 0)
    dims = (int(header.get("NAXIS2") or 0), int(header.get("NAXIS1") or 0))
    if dims != tuple(shape):
        raise ProductError(
            name, f"APERTURE image is {dims[0]}x{dims[1]} but the pixel stamps are {shape[0]}x{shape[1]}"
        )
    codes = {8: "u1", 16: ">i2", 32: ">i4", 64: ">i8", -32: ">f4", -64: ">f8"}
    if bitpix not in codes or header.get("BSCALE", 1) != 1 or header.get("BZERO", 0) != 0:
        raise ProductError(name, f"APERTURE image has an unsupported format (BITPIX={bitpix})")
    image = np.frombuffer(ff.raw, dtype=codes[bitpix], count=dims[0] * dims[1], offset=hdu.offsets["data_start"])
    image = image.reshape(dims)
    if bitpix < 0:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return np.nan_to_num(image).astype(np.int32), False
    return image.astype(np.int32), True


# ---------------------------------------------------------------- header values


def _text(value: Any) -> str:
    return str(value if value is not None else "").strip()


def _int(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return int(str(value).strip())
    except ValueError:
        return None


def _float(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None
