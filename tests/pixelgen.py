"""Synthetic target pixel files (SPOC ``*_tp.fits``, Kepler/K2 ``*_lpd-targ.fits.gz``) in the real MAST layout.

Headers come from real products in ``shared/fixtures``: the SPOC files from the (truncated) real
SPOC target pixel file of TIC 25155310, K2 files from the real K2 target pixel file primary header
and pixel-table keywords of EPIC 201907706 (stored there as a one-cadence image), Kepler files from
the Kepler light curve's primary header (CREATOR made the target-pixel exporter) with the same
pixel-table keywords; apertures take the real light curves' APERTURE headers. Every card of a
template is kept; the ones naming the target, sector/quarter/campaign, CCD position, timing and
stamp shape are rewritten. The PIXELS table has the real columns, formats and TDIMs, and each
image column carries the real per-column WCS keywords (1CRV5P/2CRV5P: CCD column/row of the
first pixel).

The pixels: a star (Gaussian PSF drifting along pos_corr) on a background that the pipeline has
subtracted (FLUX_BKG holds it), Poisson-like noise, one stamp corner not collected (NaN, APERTURE 0),
a data gap with no time and NaN pixels, and the usual QUALITY flags (fitsgen's simulations).
APERTURE: Kepler/K2 write 3 for optimal-aperture pixels and 1 for other collected pixels; SPOC
writes the values of its real files (267 optimal + centroid, 261 background, 257 collected).

Writing builds the bytes directly (headers with astropy, data as one big-endian numpy record array,
CHECKSUM/DATASUM computed with numpy), so an 11x11, 18,000-cadence SPOC file (44 MB) takes a
small fraction of a second. Faults: ``aperture=False`` writes no APERTURE extension,
``truncate_to=`` cuts the file to that many bytes.
"""

from __future__ import annotations

import gzip as gzip_mod
import os
import re
import types
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
from astropy.io import fits

from larun_lake.readers.fitsfile import ones_complement_sum
from tests.fitsgen import (
    _K2_C_START,
    _KEPLER_MODULES,
    _KEPLER_Q_START,
    _KEPLER_STAMPS,
    BKJD_REF,
    BTJD_REF,
    DEFAULT_TEMPLATE_DIR,
    KEPLER_LC_DAYS,
    TEMPLATE_FILES,
    TESS_S1_START,
    TESS_SECTOR_DAYS,
    _kepler_quality,
    _tess_quality,
    _utc_str,
    spoc_filename,
    star_params,
)

__all__ = ["kepler_tpf_filename", "make_k2_tpf", "make_kepler_tpf", "make_spoc_tpf", "spoc_tpf_filename"]

PathLike = str | os.PathLike[str]
BLOCK = 2880
SPOC_TPF_TEMPLATE = "truncated/tess25155310-s01-first-cadences.fits.gz"
K2_TPF_TEMPLATE = "truncated/ktwo201907706-c01-first-cadence.fits.gz"

# (name, TFORM code, unit, TDISP, per-pixel image?) of the real PIXELS tables.
_TESS_COLUMNS = (
    ("TIME", "D", "BJD - 2457000, days", "D14.7", False),
    ("TIMECORR", "E", "d", "E14.7", False),
    ("CADENCENO", "J", None, "I10", False),
    ("RAW_CNTS", "J", "count", "I8", True),
    ("FLUX", "E", "e-/s", "E14.7", True),
    ("FLUX_ERR", "E", "e-/s", "E14.7", True),
    ("FLUX_BKG", "E", "e-/s", "E14.7", True),
    ("FLUX_BKG_ERR", "E", "e-/s", "E14.7", True),
    ("QUALITY", "J", None, "B16.16", False),
    ("POS_CORR1", "E", "pixel", "E14.7", False),
    ("POS_CORR2", "E", "pixel", "E14.7", False),
)
_KEPLER_COLUMNS = (
    ("TIME", "D", "BJD - 2454833", "D14.7", False),
    *_TESS_COLUMNS[1:8],
    ("COSMIC_RAYS", "E", "e-/s", "E14.7", True),
    *_TESS_COLUMNS[8:],
)
_NUMPY = {"D": ">f8", "E": ">f4", "J": ">i4"}
_COLUMN_WCS = re.compile(r"^(?P<axis>\d*)(?P<stem>[A-Z]+)5(?P<p>P?)$")  # 1CRV5P, WCAX5, 11PC5 ...
_COLUMN_KEY = re.compile(r"^T(TYPE|FORM|UNIT|DISP|DIM|NULL)\d+$")
_PER_CADENCE = {"MIDTIME", "TIMECORR", "CADENCEN", "QUALITY", "COSM_RAY", "POSCORR1", "POSCORR2", "TNULL4"}
_STRUCTURAL = {"XTENSION", "BITPIX", "NAXIS", "NAXIS1", "NAXIS2", "PCOUNT", "GCOUNT", "TFIELDS", "CHECKSUM", "DATASUM"}


@dataclass(frozen=True, eq=False)
class _Template:
    mission: str
    primary: fits.Header
    table_cards: tuple[fits.Card, ...]  # the pixel table's own keywords (no columns, no structure)
    column_wcs: tuple[fits.Card, ...]  # the FLUX column's WCS cards, used as the pattern for each image column
    aperture: fits.Header
    columns: tuple


# ---------------------------------------------------------------- names


def spoc_tpf_filename(tic_id: int, sector: int, exptime_s: int = 120) -> str:
    """MAST name of a SPOC target pixel file (``a_fast-tp`` for 20-s cadence)."""
    return spoc_filename(tic_id, sector, exptime_s).replace("_lc.fits", "_tp.fits").replace("-lc.fits", "-tp.fits")


def kepler_tpf_filename(
    kepler_id: int, *, quarter: int | None = None, campaign: int | None = None, short_cadence: bool = False
) -> str:
    kind = "spd" if short_cadence else "lpd"
    if campaign is not None:
        return f"ktwo{kepler_id:09d}-c{campaign:02d}_{kind}-targ.fits.gz"
    return f"kplr{kepler_id:09d}-{_KEPLER_STAMPS[quarter]}_{kind}-targ.fits.gz"


# ---------------------------------------------------------------- public writers


def make_spoc_tpf(
    path: PathLike,
    tic_id: int,
    sector: int,
    *,
    n_cadences: int = 18000,
    shape: tuple[int, int] = (11, 11),
    cadence_s: int = 120,
    seed: int | None = None,
    aperture: bool = True,
    truncate_to: int | None = None,
    template_dir: PathLike | None = None,
) -> Path:
    """Write a SPOC target pixel file to ``path`` (a .fits file, or a directory: MAST's name is used)."""
    if cadence_s not in (20, 120):
        raise ValueError("SPOC target pixel files have 120-s or 20-s cadence")
    tmpl = _template("TESS", str(Path(template_dir or DEFAULT_TEMPLATE_DIR).resolve()))
    star = star_params(tic_id, mission="TESS", seed=seed)
    rng = np.random.default_rng([seed or 0, 11, tic_id, sector, cadence_s])
    dt = cadence_s / 86400
    n = n_cadences
    start = TESS_S1_START + (sector - 1) * TESS_SECTOR_DAYS
    t = start + (np.arange(n) + 0.5) * dt
    quality = np.zeros(n, np.int32)
    gap = slice(n // 2, n // 2 + min(round(1.0 / dt), max(n // 20, 1)))
    quality[gap] |= 8
    _tess_quality(quality, t, rng, types.SimpleNamespace(n=n, dt=dt, k2_roll=0.0), [0, gap.stop])
    cam, ccd = (int(x) for x in rng.integers(1, 5, size=2))
    col0, row0 = int(rng.integers(45, 2000)), int(rng.integers(1, 2000))
    values = {
        "OBJECT": f"TIC {tic_id}",
        "TICID": tic_id,
        "SECTOR": sector,
        "CAMERA": cam,
        "CCD": ccd,
        "TESSMAG": round(star.mag, 6),
        "TEFF": round(star.teff, 3),
        "RADIUS": round(star.radius, 5),
        "LOGG": round(star.logg, 5),
        "MH": round(star.feh, 6),
        "NUM_FRM": cadence_s // 2,
    }
    frame = _simulate(star, t, quality, gap, shape, rng, zero_flux=15000.0, sigma_px=0.9)
    return _write(
        tmpl,
        _resolve(path, spoc_tpf_filename(tic_id, sector, cadence_s)),
        frame,
        values,
        bjdref=BTJD_REF,
        dt=dt,
        cadence0=70444 + (sector - 1) * 20000,
        ref=(col0, row0),
        aperture=aperture,
        truncate_to=truncate_to,
        optimal=267,
        collected=257,
        background=261,
    )


def make_kepler_tpf(
    path: PathLike,
    kepler_id: int,
    quarter: int,
    *,
    n_cadences: int = 4000,
    shape: tuple[int, int] = (8, 10),
    short_cadence: bool = False,
    seed: int | None = None,
    aperture: bool = True,
    truncate_to: int | None = None,
    template_dir: PathLike | None = None,
) -> Path:
    """Write a Kepler target pixel file (``kplr..._lpd-targ.fits.gz``, or ``_spd-`` for short cadence)."""
    return _kepler_like(
        "Kepler", path, kepler_id, quarter, n_cadences, shape, short_cadence, seed, aperture, truncate_to, template_dir
    )


def make_k2_tpf(
    path: PathLike,
    epic_id: int,
    campaign: int,
    *,
    n_cadences: int = 3500,
    shape: tuple[int, int] = (14, 15),
    short_cadence: bool = False,
    seed: int | None = None,
    aperture: bool = True,
    truncate_to: int | None = None,
    template_dir: PathLike | None = None,
) -> Path:
    """Write a K2 target pixel file (``ktwo..._lpd-targ.fits.gz``, or ``_spd-`` for short cadence)."""
    return _kepler_like(
        "K2", path, epic_id, campaign, n_cadences, shape, short_cadence, seed, aperture, truncate_to, template_dir
    )


def _kepler_like(mission, path, target, number, n, shape, short_cadence, seed, aperture, truncate_to, template_dir):
    tmpl = _template(mission, str(Path(template_dir or DEFAULT_TEMPLATE_DIR).resolve()))
    star = star_params(target, mission=mission, seed=seed)
    rng = np.random.default_rng([seed or 0, 12, target, number, int(short_cadence)])
    dt = KEPLER_LC_DAYS / 30 if short_cadence else KEPLER_LC_DAYS
    k2 = mission == "K2"
    start = (_K2_C_START if k2 else _KEPLER_Q_START)[min(number, 17 if not k2 else 19)]
    t = start + (np.arange(n) + 0.5) * dt
    quality = np.zeros(n, np.int32)
    gap = slice(n // 3, n // 3 + max(n // 40, 1))
    quality[gap] |= 65536 | 32768  # NoData | NoFinePoint: lightkurve's default mask drops them
    obs = types.SimpleNamespace(n=n, dt=dt, k2_roll=0.4 if k2 else 0.0)
    _kepler_quality(quality, t, rng, obs, [0, gap.stop])
    module_i, output = int(rng.integers(len(_KEPLER_MODULES))), int(rng.integers(1, 5))
    values = {
        "OBJECT": f"{'EPIC' if k2 else 'KIC'} {target}",
        "KEPLERID": target,
        ("CAMPAIGN" if k2 else "QUARTER"): number,
        "MODULE": _KEPLER_MODULES[module_i],
        "OUTPUT": output,
        "CHANNEL": 4 * module_i + output,
        "KEPMAG": round(star.mag, 3),
        "OBSMODE": "short cadence" if short_cadence else "long cadence",
        "NUM_FRM": 9 if short_cadence else 270,
        "NREADOUT": 9 if short_cadence else 270,
    }
    frame = _simulate(star, t, quality, gap, shape, rng, zero_flux=1.74e5, sigma_px=0.7)
    name = kepler_tpf_filename(
        target, quarter=None if k2 else number, campaign=number if k2 else None, short_cadence=short_cadence
    )
    return _write(
        tmpl,
        _resolve(path, name),
        frame,
        values,
        bjdref=BKJD_REF,
        dt=dt,
        cadence0=round((start - 108.935) / dt),
        ref=(int(rng.integers(12, 1100)), int(rng.integers(20, 1030))),
        aperture=aperture,
        truncate_to=truncate_to,
        optimal=3,
        collected=1,
        background=1,
    )


# ---------------------------------------------------------------- pixels


def _simulate(star, t, quality, gap, shape, rng, *, zero_flux, sigma_px):
    """Per-cadence images (float32, native) and columns."""
    n = len(t)
    ny, nx = shape
    span = max(t[-1] - t[0], 1e-9)
    drift = 0.05 * (t - t[0]) / span + 0.01 * np.sin(2 * np.pi * t / 1.3)
    pos1, pos2 = (0.9 * drift).astype(np.float32), (-0.45 * drift).astype(np.float32)
    cx = (nx - 1) / 2 + 0.3 * rng.uniform(-1, 1) + pos1
    cy = (ny - 1) / 2 + 0.3 * rng.uniform(-1, 1) + pos2
    yy, xx = np.indices(shape, dtype=np.float32)
    # a separable Gaussian: exp(-(x-cx)^2) (n, 1, nx) times exp(-(y-cy)^2) (n, ny, 1)
    gx = np.exp(-0.5 * ((xx[0][None, :] - cx[:, None]) / sigma_px) ** 2)
    gy = np.exp(-0.5 * ((yy[:, 0][None, :] - cy[:, None]) / sigma_px) ** 2)
    psf = (gy[:, :, None] * gx[:, None, :]).astype(np.float32) / np.float32(2 * np.pi * sigma_px**2)
    model = 1 + star.rot_amp * np.sin(2 * np.pi * t / star.rot_period + star.rot_phase)
    level = star.flux * model  # e-/s in the whole PSF
    bkg = (0.02 * star.flux / (ny * nx)) * (1 + 0.3 * np.exp(-(t - t[0]) / 1.5))
    signal = psf * level.astype(np.float32)[:, None, None]
    exposure = np.float32((t[1] - t[0]) * 86400 * 0.8 if n > 1 else 100.0)
    err = np.sqrt((np.abs(signal) + bkg.astype(np.float32)[:, None, None] + 25) / exposure).astype(np.float32)
    flux = signal + err * rng.standard_normal(signal.shape, dtype=np.float32)
    flux_bkg = np.broadcast_to(bkg.astype(np.float32)[:, None, None], flux.shape).copy()
    time = t.copy()
    time[gap] = np.nan
    flux[gap] = np.nan
    err[gap] = np.nan
    flux_bkg[gap] = np.nan
    flux[:, -1, -1] = err[:, -1, -1] = flux_bkg[:, -1, -1] = np.nan  # a corner pixel not collected
    raw = np.nan_to_num((flux + flux_bkg) * exposure / 5.0, nan=-1).astype(np.int32)
    timecorr = (0.004 * np.cos(2 * np.pi * t / 365.25)).astype(np.float32)
    return {
        "TIME": time,
        "TIMECORR": timecorr,
        "RAW_CNTS": raw,
        "FLUX": flux,
        "FLUX_ERR": err,
        "FLUX_BKG": flux_bkg,
        "FLUX_BKG_ERR": np.sqrt(np.abs(flux_bkg) / exposure) + np.float32(0.1),
        "COSMIC_RAYS": np.full(flux.shape, np.nan, np.float32),
        "QUALITY": quality,
        "POS_CORR1": np.where(np.isnan(time), np.nan, pos1),
        "POS_CORR2": np.where(np.isnan(time), np.nan, pos2),
        "_psf": psf[n // 4],
        "_star": star,
        "_t": t,
    }


# ---------------------------------------------------------------- templates


@cache
def _template(mission: str, template_dir: str) -> _Template:
    root = Path(template_dir)
    with fits.open(root / SPOC_TPF_TEMPLATE) as spoc:
        wcs = tuple(
            c for c in spoc[1].header.cards if _COLUMN_WCS.match(c.keyword) and not _COLUMN_KEY.match(c.keyword)
        )
        if mission == "TESS":
            return _Template(
                "TESS", spoc[0].header.copy(), _own_cards(spoc[1].header), wcs, spoc[2].header.copy(), _TESS_COLUMNS
            )
    with fits.open(root / K2_TPF_TEMPLATE) as k2tpf:
        table_cards = tuple(c for c in _own_cards(k2tpf[1].header) if c.keyword not in _PER_CADENCE)
        primary = k2tpf[0].header.copy()
        primary.remove("HISTORY", ignore_missing=True, remove_all=True)
    lc_kind = "k2" if mission == "K2" else "kepler"
    with fits.open(root / TEMPLATE_FILES[lc_kind]) as lc:
        if mission == "Kepler":
            primary = lc[0].header.copy()
            primary.set("CREATOR", primary["CREATOR"].split()[0] + " TargetPixelExporterPipelineModule", "pipeline job")
        aperture = lc[2].header.copy()
    wcs_kepler = tuple(_kepler_wcs(c) for c in wcs)
    return _Template(mission, primary, table_cards, wcs_kepler, aperture, _KEPLER_COLUMNS)


def _own_cards(header: fits.Header) -> tuple[fits.Card, ...]:
    """A table header's cards that describe the product, not the table's structure or columns."""
    out = []
    for card in header.cards:
        key = card.keyword
        if key in _STRUCTURAL or key in ("", "COMMENT", "HISTORY") or _COLUMN_KEY.match(key):
            continue
        if re.match(r"^\d*[A-Z]+\d+P?$", key) and re.match(r"^(\d+[A-Z]+|WCSN|WCAX)", key):
            continue  # per-column WCS: rebuilt for each image column
        out.append(card)
    return tuple(out)


def _kepler_wcs(card: fits.Card) -> fits.Card:
    """The SPOC column-WCS card rescaled to Kepler's 3.98-arcsec pixels."""
    if card.keyword in ("1CDLT5", "2CDLT5"):
        return fits.Card(card.keyword, float(np.sign(card.value)) * 0.001105088804881, card.comment)
    return card


# ---------------------------------------------------------------- writing


def _write(
    tmpl: _Template,
    out: Path,
    frame: dict,
    values: dict,
    *,
    bjdref: int,
    dt: float,
    cadence0: int,
    ref: tuple[int, int],
    aperture: bool,
    truncate_to: int | None,
    optimal: int,
    collected: int,
    background: int,
) -> Path:
    star, t = frame["_star"], frame["_t"]
    n = len(t)
    ny, nx = frame["FLUX"].shape[1:]
    col0, row0 = ref
    crpix1, crpix2 = (nx + 1) / 2, (ny + 1) / 2
    tstart, tstop = float(t[0] - dt / 2), float(t[-1] + dt / 2)
    common = values | {
        "RA_OBJ": round(star.ra, 6),
        "DEC_OBJ": round(star.dec, 6),
        "TSTART": tstart,
        "TSTOP": tstop,
        "DATE-OBS": _utc_str(tstart + bjdref, True),
        "DATE-END": _utc_str(tstop + bjdref, True),
    }
    timing = {
        "TELAPSE": tstop - tstart,
        "LIVETIME": (tstop - tstart) * 0.8,
        "EXPOSURE": (tstop - tstart) * 0.8,
        "TIMEDEL": dt,
        "BJDREFI": bjdref,
        "BJDREFF": 0.0,
    }

    primary = tmpl.primary.copy()
    _update(primary, common)
    primary["NEXTEND"] = (2 if aperture else 1) + (1 if tmpl.mission == "TESS" else 0)

    columns = tmpl.columns
    dtype = np.dtype(
        [(name, _NUMPY[code], (ny, nx)) if image else (name, _NUMPY[code]) for name, code, _, _, image in columns]
    )
    table = np.empty(n, dtype=dtype)
    cad = np.arange(cadence0, cadence0 + n, dtype=np.int32)
    for name, *_ in columns:
        table[name] = cad if name == "CADENCENO" else frame[name]
    th = fits.Header(
        [
            ("XTENSION", "BINTABLE", "marks the beginning of a new HDU"),
            ("BITPIX", 8, "array data type"),
            ("NAXIS", 2, "number of array dimensions"),
            ("NAXIS1", dtype.itemsize, "length of first array dimension"),
            ("NAXIS2", n, "length of second array dimension"),
            ("PCOUNT", 0, "group parameter count (not used)"),
            ("GCOUNT", 1, "group count (not used)"),
            ("TFIELDS", len(columns), "number of table fields"),
        ]
    )
    for i, (name, code, unit, disp, image) in enumerate(columns, start=1):
        th[f"TTYPE{i}"] = name
        th[f"TFORM{i}"] = f"{ny * nx}{code}" if image else code
        if unit:
            th[f"TUNIT{i}"] = unit
        if name == "RAW_CNTS":
            th[f"TNULL{i}"] = -1
        th[f"TDISP{i}"] = disp
        if image:
            th[f"TDIM{i}"] = f"({nx},{ny})"
            wcs = {"1CRV": col0, "2CRV": row0, "1CRPX": crpix1, "2CRPX": crpix2, "1CRVL": star.ra, "2CRVL": star.dec}
            for card in tmpl.column_wcs:
                m = _COLUMN_WCS.match(card.keyword)
                key = f"{m['axis']}{m['stem']}{i}{m['p']}"
                value = wcs.get(f"{m['axis']}{m['stem']}", card.value)
                th.append(fits.Card(key, value, card.comment))
    for card in tmpl.table_cards:
        th.append(card)
    _update(th, common | timing)
    th["EXTNAME"] = "PIXELS"  # the K2 template stored its one cadence as an IMAGE extension

    ap_header = tmpl.aperture.copy()
    image = _aperture_image(frame, optimal, collected, background)
    ap_header["NAXIS1"], ap_header["NAXIS2"] = nx, ny
    _update(
        ap_header,
        common
        | {
            "CRPIX1": crpix1,
            "CRPIX2": crpix2,
            "CRVAL1": star.ra,
            "CRVAL2": star.dec,
            "CRVAL1P": col0,
            "CRVAL2P": row0,
            "NPIXSAP": int(((image & 2) > 0).sum()),
        },
    )

    stamp = f"{primary.get('DATE', '2020-01-01')}T12:00:00Z"
    parts = [*_hdu_parts(primary, b"", stamp), *_hdu_parts(th, memoryview(table).cast("B"), stamp)]
    if aperture:
        parts += _hdu_parts(ap_header, image.astype(">i4").tobytes(), stamp)
    if tmpl.mission == "TESS":  # SPOC files end with an empty cosmic-ray table
        parts.append(_cosmic_ray_hdu(stamp))
    if truncate_to is not None:
        parts = [b"".join(parts)[:truncate_to]]
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "wb") as fh:
        if out.suffix == ".gz":
            with gzip_mod.GzipFile(filename=out.name[:-3], mode="wb", fileobj=fh, mtime=0, compresslevel=1) as gz:
                for part in parts:
                    gz.write(part)
        else:
            fh.writelines(parts)
    return out


def _aperture_image(frame: dict, optimal: int, collected: int, background: int) -> np.ndarray:
    psf = frame["_psf"]
    image = np.full(psf.shape, collected, dtype=np.int32)
    image[psf < 0.02 * psf.max()] = background
    image[psf >= 0.05 * psf.max()] = optimal
    image[np.isnan(frame["FLUX"][len(frame["_t"]) // 4])] = 0  # not collected
    return image


def _update(header: fits.Header, values: dict) -> None:
    for key, value in values.items():
        if key in header and value is not None:
            header[key] = value


@cache
def _cosmic_ray_hdu(stamp: str) -> bytes:
    with fits.open(Path(DEFAULT_TEMPLATE_DIR) / SPOC_TPF_TEMPLATE) as spoc:
        header = spoc[3].header.copy()
    return b"".join(_hdu_parts(header, b"", stamp))


def _hdu_parts(header: fits.Header, data: bytes | memoryview, stamp: str) -> list[bytes | memoryview]:
    """Header, data and block padding, with DATASUM and CHECKSUM (the HDU sums to negative zero)."""
    pad = b"\0" * (-len(data) % BLOCK)
    if len(data) % 4:
        data, pad = bytes(data) + pad, b""  # the sum runs over whole 32-bit words
    datasum = _add(ones_complement_sum(data), 0) if len(data) else 0
    header["CHECKSUM"] = ("0" * 16, f"HDU checksum updated {stamp}")
    header["DATASUM"] = (str(datasum), f"data unit checksum updated {stamp}")
    text = header.tostring().encode("ascii")
    total = _add(ones_complement_sum(text), datasum)
    header["CHECKSUM"] = (_encode(~total & 0xFFFFFFFF), f"HDU checksum updated {stamp}")
    return [header.tostring().encode("ascii"), data, pad]


def _add(a: int, b: int) -> int:
    total = a + b
    while total >> 32:
        total = (total & 0xFFFFFFFF) + (total >> 32)
    return total


_EXCLUDE = set(range(0x3A, 0x41)) | set(range(0x5B, 0x61))  # punctuation between digits and letters


def _encode(value: int) -> str:
    """The 16-character ASCII encoding of a 32-bit checksum (FITS Standard, appendix J)."""
    chars = bytearray(16)
    for i in range(4):
        byte = (value >> (24 - 8 * i)) & 0xFF
        quotient, remainder = byte // 4 + 0x30, byte % 4
        ch = [quotient + remainder, quotient, quotient, quotient]
        changed = True
        while changed:
            changed = False
            for j in (0, 2):
                if ch[j] in _EXCLUDE or ch[j + 1] in _EXCLUDE:
                    ch[j] += 1
                    ch[j + 1] -= 1
                    changed = True
        for j in range(4):
            chars[4 * j + i] = ch[j]
    return bytes(chars[15:] + chars[:15]).decode("ascii")


def _resolve(path: PathLike, name: str) -> Path:
    out = Path(path)
    if out.is_dir() or not out.name.lower().endswith((".fits", ".fits.gz")):
        out = out / name
    return out
