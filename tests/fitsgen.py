"""Synthetic TESS SPOC, QLP, Kepler and K2 light-curve FITS files in the real MAST layout.

The primary, LIGHTCURVE and APERTURE headers, the column definitions and the
aperture image are copied from real archive products (read-only templates in
``shared/fixtures`` beside the repository), so code that parses real files
parses these the same way.  Only what identifies the target/product and the
data values change.  As in the real products, data gaps are rows with
``TIME = NaN`` (CADENCENO stays consecutive) and flagged cadences carry the
usual QUALITY bits with NaN fluxes where the pipeline would blank them.

Everything is deterministic: ``seed=None`` means seed 0, and the star of a
target (magnitude, position, transit...) depends only on (seed, mission, id), so
the same target looks alike in every sector or quarter.

Writing reuses one astropy ``HDUList`` per (template, n_cadences): building the
table HDU and its header costs more than everything else, so each file only
refills the data array and the changed header values (roughly 80-100 files/s
for 18,000-cadence SPOC files on one core; ``pytest -m benchmark -s`` prints it).
"""

from __future__ import annotations

import datetime as dt
import gzip as gzip_mod
import io
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

import numpy as np
from astropy.io import fits

__all__ = [
    "DEFAULT_TEMPLATE_DIR",
    "TEMPLATE_FILES",
    "Star",
    "Transit",
    "kepler_filename",
    "make_qlp_set",
    "make_spoc_set",
    "qlp_filename",
    "spoc_filename",
    "star_params",
    "write_kepler_lightcurve",
    "write_qlp_lightcurve",
    "write_spoc_lightcurve",
]

PathLike = str | os.PathLike[str]

DEFAULT_TEMPLATE_DIR = Path(__file__).resolve().parents[2] / "shared" / "fixtures"
TEMPLATE_FILES = {
    "tess": "tess_spoc/tess2018206045859-s0001-0000000025155310-0120-s_lc.fits",
    "kepler": "kepler/kplr010002792-2009259160929_llc.fits",
    "k2": "k2/ktwo211117077-c04_llc.fits",
}
# QLP full-frame-image light curves: two HDUs, no aperture, no checksum (as MAST serves them).
QLP_TEMPLATE_FILE = "tess_hlsp/hlsp_qlp_tess_ffi_s0024-0000000039903405_tess_v01_llc.fits"

BTJD_REF = 2457000  # TESS BJDREFI
BKJD_REF = 2454833  # Kepler/K2 BJDREFI
TESS_S1_START = 1325.2945  # BTJD of the first sector-1 cadence edge
TESS_SECTOR_DAYS = 27.4
KEPLER_LC_DAYS = 0.02043359821692  # TIMEDEL of Kepler long cadence (270 frames)

# (file timestamp, spacecraft configuration id) of the SPOC products, sectors 1-43.
_TESS_PRODUCTS = (
    "2018206045859-0120", "2018234235059-0121", "2018263035959-0123", "2018292075959-0124", "2018319095959-0125",
    "2018349182459-0126", "2019006130736-0131", "2019032160000-0136", "2019058134432-0139", "2019085135100-0140",
    "2019112060037-0143", "2019140104343-0144", "2019169103026-0146", "2019198215352-0150", "2019226182529-0151",
    "2019253231442-0152", "2019279210107-0161", "2019306063752-0162", "2019331140908-0164", "2019357164649-0165",
    "2020020091053-0167", "2020049080258-0174", "2020078014623-0177", "2020106103520-0180", "2020133194932-0182",
    "2020160202036-0188", "2020186164531-0189", "2020212050318-0190", "2020238165205-0193", "2020266004630-0195",
    "2020294194027-0198", "2020324010417-0200", "2020351194500-0203", "2021014023720-0204", "2021039152502-0205",
    "2021065132309-0207", "2021091135823-0208", "2021118034608-0209", "2021146024351-0210", "2021175071901-0211",
    "2021204101404-0212", "2021232031932-0213", "2021258175143-0214",
)
# Long-cadence file timestamps of Kepler quarters 0-17 (DR25 names).
_KEPLER_STAMPS = (
    "2009131105131", "2009166043257", "2009259160929", "2009350155506", "2010078095331", "2010174085026",
    "2010265121752", "2010355172524", "2011073133259", "2011177032512", "2011271113734", "2012004120508",
    "2012088054726", "2012179063303", "2012277125453", "2013011073258", "2013098041711", "2013131215648",
)
# Approximate BKJD start of Kepler quarters 0-17 and K2 campaigns 0-19.
_KEPLER_Q_START = (120.53, 131.51, 169.51, 260.21, 352.38, 443.48, 539.46, 630.17, 735.36,
                   808.51, 906.84, 1001.21, 1099.42, 1182.02, 1274.15, 1373.48, 1472.12, 1559.22)
_K2_C_START = (1940.6, 1975.17, 2060.3, 2144.1, 2228.79, 2306.6, 2384.5, 2467.3, 2559.6,
               2663.5, 2750.6, 2830.6, 2905.9, 2988.3, 3067.3, 3150.3, 3264.5, 3346.1,
               3426.0, 3505.0)
_KEPLER_MODULES = (2, 3, 4, *range(6, 21), 22, 23, 24)  # CHANNEL = 4 * index + OUTPUT

# QUALITY bits (lightkurve TessQualityFlags / KeplerQualityFlags names in comments).
# Which flagged cadences the pipelines blank: whole row (SAP, PDC, centroids) or PDC only.
_TESS_SAP_NAN = 4 | 8 | 32  # CoarsePoint, EarthPoint, Desat
_TESS_PDC_NAN = _TESS_SAP_NAN | 1 | 2 | 16 | 128 | 16384  # + AttitudeTweak ... ManualExclude
_KEP_SAP_NAN = 2 | 8 | 32768 | 65536  # SafeMode, EarthPoint, NoFinePoint, NoData
_KEP_PDC_NAN = _KEP_SAP_NAN | 1 | 4 | 32 | 256 | 16384 | 1048576  # + Desat, ThrusterFiring ...

_ICRS_TO_GAL = np.array([[-0.0548755604162154, -0.8734370902348850, -0.4838350155487132],
                         [0.4941094278755837, -0.4448296299600112, 0.7469822444972189],
                         [-0.8676661490190047, -0.1980763734312015, 0.4559837761750669]])
_MAG_KEYS = ("GMAG", "RMAG", "IMAG", "ZMAG", "D51MAG", "JMAG", "HMAG", "KMAG")
_LOCK = threading.Lock()  # the cached HDULists are refilled in place
_MISSION_CODE = {"TESS": 1, "Kepler": 2, "K2": 3}  # keeps the random streams of missions apart


@dataclass(frozen=True)
class Transit:
    period: float  # d
    t0_bjd: float  # mid-transit epoch, BJD_TDB
    depth: float  # fractional
    duration: float  # d


@dataclass(frozen=True)
class Star:
    """Per-target truth; identical for every sector/quarter of the same target."""

    target_id: int
    mag: float  # TESSMAG or KEPMAG
    flux: float  # PDCSAP level [e-/s]
    teff: float
    radius: float
    logg: float
    feh: float
    ra: float
    dec: float
    pmra: float  # mas/yr
    pmdec: float  # mas/yr
    rot_period: float  # d
    rot_amp: float  # fractional semi-amplitude
    rot_phase: float
    transit: Transit | None


@dataclass(frozen=True, eq=False)  # hashed by identity: one cached instance per file
class _Template:
    """Headers, columns and aperture of one real product."""

    kind: str
    headers: tuple[fits.Header, fits.Header, fits.Header]
    columns: tuple[fits.Column, ...]  # definitions only (name, format, unit, disp)
    aperture: np.ndarray
    psf_filled: bool  # SPOC and Kepler leave PSF_CENTR* all-NaN; K2 fills them
    kinds: tuple[dict[str, type], ...]  # per HDU: keyword -> value type in the template

    @property
    def cdpp_keys(self) -> list[str]:  # CDPP0_5 ... (TESS) or CDPP3_0 ... (Kepler), hours
        return [k for k in self.headers[1] if k.startswith("CDPP")]

    @property
    def utc_z(self) -> bool:  # Kepler writes DATE-OBS with a trailing Z, SPOC 5.x without
        return str(self.headers[1]["DATE-OBS"]).endswith("Z")


@dataclass
class _Obs:
    """One product: timing, cadence and the pipeline behaviour to mimic."""

    tmpl: _Template
    bjdref: int
    start: float  # TSTART in mission days
    dt: float  # TIMEDEL [d]
    n: int
    deadc: float
    cad_ref: float  # mission time at which CADENCENO would be 0
    gaps: list[tuple[int, int, int]]  # (first row, rows, QUALITY) written with TIME = NaN
    sap_nan: int  # QUALITY bits whose cadences have no SAP/PDC/centroids
    pdc_nan: int  # QUALITY bits whose cadences have no PDCSAP
    k2_roll: float = 0.0  # K2 thruster cycle [d]; 0 = stable pointing


# ---------------------------------------------------------------- names and targets


def spoc_filename(tic_id: int, sector: int, exptime_s: int = 120) -> str:
    """MAST name of a SPOC light curve (``a_fast-lc`` for 20-s cadence)."""
    if 1 <= sector <= len(_TESS_PRODUCTS):
        stamp, scid = _TESS_PRODUCTS[sector - 1].split("-")
    else:  # after the table: stamp at the nominal sector start, ids keep counting
        start = _utc(TESS_S1_START + (sector - 1) * TESS_SECTOR_DAYS + BTJD_REF)
        stamp, scid = start.strftime("%Y%j%H%M%S"), f"{214 + sector - 43:04d}"
    suffix = "a_fast-lc" if exptime_s == 20 else "s_lc"
    return f"tess{stamp}-s{sector:04d}-{tic_id:016d}-{scid}-{suffix}.fits"


def kepler_filename(kepler_id: int, quarter: int | None = None, campaign: int | None = None,
                    short_cadence: bool = False) -> str:
    """MAST name of a Kepler (quarter) or K2 (campaign) light curve.

    Short-cadence Kepler files really come one per month with their own stamps;
    the quarter's long-cadence stamp is used instead.
    """
    kind = "slc" if short_cadence else "llc"
    if campaign is not None:
        return f"ktwo{kepler_id:09d}-c{campaign:02d}_{kind}.fits"
    if quarter is None or not 0 <= quarter < len(_KEPLER_STAMPS):
        raise ValueError(f"quarter must be 0-17, got {quarter!r}")
    return f"kplr{kepler_id:09d}-{_KEPLER_STAMPS[quarter]}_{kind}.fits"


def star_params(target_id: int, *, mission: str = "TESS", seed: int | None = None,
                mag: float | None = None, teff: float | None = None,
                radius: float | None = None, ra: float | None = None,
                dec: float | None = None, transit: bool | None = None) -> Star:
    """Deterministic star for (seed, mission, target); arguments override the draws.

    ``transit=None`` gives about half of the targets a transiting companion.
    """
    rng = np.random.default_rng([seed or 0, _MISSION_CODE[mission], target_id])
    u = rng.random(16)  # fixed number of draws: overrides never shift the stream
    if mission == "TESS":
        d_mag, d_ra, d_dec = 8 + 5 * u[0], 360 * u[1], np.degrees(np.arcsin(2 * u[2] - 1))
    elif mission == "Kepler":  # the Kepler field
        d_mag, d_ra, d_dec = 12 + 4 * u[0], 280 + 21 * u[1], 36.5 + 16 * u[2]
    else:  # K2 fields lie along the ecliptic
        d_mag, d_ra, d_dec = 12 + 4 * u[0], 360 * u[1], -28 + 56 * u[2]
    mag = d_mag if mag is None else mag
    zero_flux, zero_mag = (15000.0, 10.0) if mission == "TESS" else (1.74e5, 12.0)
    teff = 3300 + 3500 * u[3] if teff is None else teff
    if radius is None:
        radius = float(np.clip((teff / 5772) ** 1.4 * np.exp(0.3 * (u[4] - 0.5)), 0.15, 5.0))
    mass = (teff / 5772) ** 1.8
    period = 0.8 + 11 * u[9]
    planet = Transit(period=period, t0_bjd=2458000 + period * u[10],
                     depth=float(3e-4 * 33 ** u[11]), duration=0.04 + 0.1 * u[12])
    has_transit = u[13] < 0.5 if transit is None else transit
    return Star(target_id=target_id, mag=float(mag),
                flux=float(zero_flux * 10 ** (-0.4 * (mag - zero_mag))),
                teff=float(teff), radius=float(radius),
                logg=float(4.438 + np.log10(mass / radius**2)), feh=float(0.4 * (u[5] - 0.6)),
                ra=float(d_ra if ra is None else ra), dec=float(d_dec if dec is None else dec),
                pmra=float(60 * (u[6] - 0.5)), pmdec=float(60 * (u[7] - 0.5)),
                rot_period=float(0.5 + 19.5 * u[8]), rot_amp=float(1e-4 * 100 ** u[14]),
                rot_phase=float(2 * np.pi * u[15]), transit=planet if has_transit else None)



# ---------------------------------------------------------------- public writers


def write_spoc_lightcurve(path: PathLike, *, tic_id: int, sector: int, n_cadences: int = 18000,
                          exptime_s: int = 120, seed: int | None = None,
                          data_rel: int | None = None, procver: str | None = None,
                          tmag: float | None = None, teff: float | None = None,
                          radius: float | None = None, ra: float | None = None,
                          dec: float | None = None, gzip: bool = False,
                          template_dir: PathLike | None = None,
                          transit: bool | None = None) -> Path:
    """Write a TESS SPOC 2-min (or 20-s) light curve to ``path`` (a .fits file or a directory)."""
    if exptime_s not in (20, 120):
        raise ValueError("SPOC light curves have 120-s or 20-s cadence")
    n = _check_n(n_cadences)
    star = star_params(tic_id, mission="TESS", seed=seed, mag=tmag, teff=teff, radius=radius,
                       ra=ra, dec=dec, transit=transit)
    rng = np.random.default_rng([seed or 0, 1, tic_id, sector, exptime_s])
    cadence = exptime_s / 86400
    gap = min(round(1.0 / cadence), n // 20)  # ~1-d data downlink at perigee, mid-sector
    obs = _Obs(tmpl=_template("tess", template_dir), bjdref=BTJD_REF, n=n, dt=cadence,
               start=TESS_S1_START + (sector - 1) * TESS_SECTOR_DAYS,
               # 20-s data skip onboard cosmic-ray mitigation, so all 10 frames count
               deadc=0.99 if exptime_s == 20 else 0.792,
               cad_ref=TESS_S1_START - 70444 * 120 / 86400,  # sector 1 starts at cadence 70444
               gaps=[(n // 2 - gap // 2, gap, 8)], sap_nan=_TESS_SAP_NAN, pdc_nan=_TESS_PDC_NAN)
    cols, stats = _simulate(obs, star, rng, _tess_quality)
    cam, ccd = (int(x) for x in rng.integers(1, 5, size=2))
    date = _utc(float(stats["TSTOP"]) + BTJD_REF + 20).date()  # released ~3 weeks later
    if procver is None:
        major = "3.3" if sector <= 13 else "4.0" if sector <= 26 else "5.0"
        procver = f"spoc-{major}.{sector % 60}-{date - dt.timedelta(days=5):%Y%m%d}"
    values = stats | _identity(star, tess=True) | {
        "OBJECT": f"TIC {tic_id}", "TICID": tic_id, "SECTOR": sector, "CAMERA": cam, "CCD": ccd,
        "TESSMAG": round(star.mag, 6), "MH": round(star.feh, 6),
        "DATA_REL": max(1, round(1.45 * sector - 0.5)) if data_rel is None else data_rel,
        "PROCVER": procver, "DATE": date.isoformat(), "SIMDATA": True,
        "NUM_FRM": exptime_s // 2, "NREADOUT": exptime_s // 2 if exptime_s == 20 else 48,
        "CRMITEN": exptime_s != 20, "CRSPOC": exptime_s == 20,
    }
    out = _resolve(path, spoc_filename(tic_id, sector, exptime_s), gzip)
    return _write(obs, out, cols, values, tmofst=(cam, ccd))


def write_kepler_lightcurve(path: PathLike, *, kepler_id: int, quarter: int | None = None,
                            campaign: int | None = None, n_cadences: int = 4000,
                            short_cadence: bool = False, seed: int | None = None,
                            data_rel: int | None = None, procver: str | None = None,
                            kepmag: float | None = None, teff: float | None = None,
                            radius: float | None = None, ra: float | None = None,
                            dec: float | None = None, gzip: bool = False,
                            template_dir: PathLike | None = None,
                            transit: bool | None = None) -> Path:
    """Write a Kepler (``quarter``) or K2 (``campaign``) light curve to a .fits file or a directory."""
    if campaign is not None and quarter is None:
        k2, number, mission = True, campaign, "K2"
    elif quarter is not None and campaign is None:
        k2, number, mission = False, quarter, "Kepler"
    else:
        raise ValueError("give exactly one of quarter (Kepler) or campaign (K2)")
    n = _check_n(n_cadences)
    star = star_params(kepler_id, mission=mission, seed=seed, mag=kepmag, teff=teff,
                       radius=radius, ra=ra, dec=dec, transit=transit)
    rng = np.random.default_rng([seed or 0, 2, kepler_id, number, int(short_cadence)])
    cadence = KEPLER_LC_DAYS / 30 if short_cadence else KEPLER_LC_DAYS
    no_data = 65536 | 32768  # NoData | NoFinePoint
    if k2:  # 91/92, 101/102, 111/112 are the halves of campaigns 9, 10 and 11
        base, second_half = (number // 10, number % 10 == 2) if number >= 20 else (number, False)
        start = _K2_C_START[min(base, 19)] + (30.0 if second_half else 0.0)
        gaps = [(n // 5, 3, no_data), (3 * n // 5, 4, no_data)]
    else:
        start = _KEPLER_Q_START[min(number, 17)]
        gap = min(round(1.0 / cadence), n // 30)  # monthly downlinks (Earth point)
        gaps = [(n // 3, gap, no_data | 8), (2 * n // 3, gap, no_data | 8),
                (n // 7, 1, no_data | 1), (5 * n // 6, 1, no_data | 1)]
    tmpl = _template("k2" if k2 else "kepler", template_dir)
    obs = _Obs(tmpl=tmpl, bjdref=BKJD_REF, start=start, dt=cadence, n=n, deadc=0.92063492,
               # one CADENCENO epoch for LC and SC (Q2 starts at LC 2965, K2 C4 at 103744)
               cad_ref=108.935, gaps=gaps, sap_nan=_KEP_SAP_NAN, pdc_nan=_KEP_PDC_NAN,
               k2_roll=0.4 if k2 else 0.0)
    cols, stats = _simulate(obs, star, rng, _kepler_quality)
    module_i, output = int(rng.integers(len(_KEPLER_MODULES))), int(rng.integers(1, 5))
    h0 = tmpl.headers[0]
    values = stats | _identity(star, tess=False) | {
        "OBJECT": f"{'EPIC' if k2 else 'KIC'} {kepler_id}", "KEPLERID": kepler_id,
        "CAMPAIGN": campaign, "QUARTER": quarter, "SEASON": None if k2 else (number + 2) % 4,
        "MODULE": _KEPLER_MODULES[module_i], "OUTPUT": output, "CHANNEL": 4 * module_i + output,
        "SKYGROUP": 1 + kepler_id % 84, "KEPMAG": round(star.mag, 3), "FEH": round(star.feh, 3),
        "OBSMODE": "short cadence" if short_cadence else "long cadence",
        "NUM_FRM": 9 if short_cadence else 270, "NREADOUT": 9 if short_cadence else 270,
        "TMINDEX": int(rng.integers(10**8, 13 * 10**8)),
        "GLON": _galactic(star.ra, star.dec)[0], "GLAT": _galactic(star.ra, star.dec)[1],
        # the template PROCVER/DATA_REL are a later reprocessing: keep its date unless earlier
        "DATE": max(str(h0["DATE"]), _utc(float(stats["TSTOP"]) + BKJD_REF + 20).date().isoformat()),
        "DATA_REL": data_rel, "PROCVER": procver,
    }
    if isinstance(h0.get("KEPMAG"), float):  # other magnitudes keep the template's colours
        values |= {k: round(h0[k] + star.mag - h0["KEPMAG"], 3) for k in _MAG_KEYS
                   if isinstance(h0.get(k), float)}
    out = _resolve(path, kepler_filename(kepler_id, quarter, campaign, short_cadence), gzip)
    return _write(obs, out, cols, values)


def make_spoc_set(folder: PathLike, n_files: int, *, n_cadences: int = 18000, seed: int = 0,
                  first_tic: int = 100000000, sectors: tuple[int, ...] = (1, 2)) -> list[Path]:
    """``n_files`` distinct SPOC files with MAST names: consecutive TICs, each in all ``sectors``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    return [write_spoc_lightcurve(folder, tic_id=first_tic + i // len(sectors),
                                  sector=sectors[i % len(sectors)], n_cadences=n_cadences,
                                  seed=seed)
            for i in range(n_files)]


def qlp_filename(tic_id: int, sector: int) -> str:
    """MAST name of a QLP full-frame-image light curve."""
    return f"hlsp_qlp_tess_ffi_s{sector:04d}-{tic_id:016d}_tess_v01_llc.fits"


def write_qlp_lightcurve(
    path: PathLike,
    *,
    tic_id: int,
    sector: int,
    n_cadences: int = 1300,
    seed: int | None = None,
    template_dir: PathLike | None = None,
) -> Path:
    """Write a QLP light curve (30-min cadence to sector 26, 10-min to 55) to a .fits file or a directory.

    Small and simple next to the SPOC writer: a rotating star with white noise, a few flagged
    cadences, the template's headers with the target, sector and timing filled in.
    """
    if not 1 <= sector <= 55:
        raise ValueError("QLP light curves are generated for sectors 1-55 (later ones have other columns)")
    n = _check_n(n_cadences)
    star = star_params(tic_id, mission="TESS", seed=seed)
    rng = np.random.default_rng([seed or 0, 4, tic_id, sector])
    dt_days = (1800 if sector <= 26 else 600) / 86400
    start = TESS_S1_START + (sector - 1) * TESS_SECTOR_DAYS
    t = start + (np.arange(n) + 0.5) * dt_days
    model = 1 + star.rot_amp * np.sin(2 * np.pi * t / star.rot_period + star.rot_phase)
    rel_err = 2e-4 * 10 ** (0.2 * (star.mag - 10))
    quality = np.zeros(n, np.int32)
    quality[rng.random(n) < 0.02] |= 4096  # scattered light
    quality[rng.random(n) < 0.005] |= 32  # momentum dump
    noise = rng.standard_normal((4, n))
    sap = star.flux * (model + rel_err * noise[0])
    cols = {
        "TIME": t,
        "CADENCENO": np.arange(n, dtype=np.int32) + 30000 + 1300 * sector,
        "SAP_FLUX": sap,
        "KSPSAP_FLUX": model + rel_err * noise[0],
        "KSPSAP_FLUX_ERR": np.full(n, rel_err),
        "QUALITY": quality,
        "ORBITID": np.where(np.arange(n) < n // 2, 2 * sector + 7, 2 * sector + 8),
        "SAP_X": 1000 + 0.01 * noise[1],
        "SAP_Y": 1000 + 0.01 * noise[2],
        "SAP_BKG": star.flux * 0.1 * (1 + 0.05 * noise[3]),
        "SAP_BKG_ERR": np.full(n, star.flux * 0.005),
        "KSPSAP_FLUX_SML": model + 1.2 * rel_err * noise[0],
        "KSPSAP_FLUX_LAG": model + 0.9 * rel_err * noise[0],
    }
    tstart, tstop = float(t[0] - dt_days / 2), float(t[-1] + dt_days / 2)
    ids = {"OBJECT": f"TIC {tic_id}", "TICID": tic_id, "RA_OBJ": round(star.ra, 8), "DEC_OBJ": round(star.dec, 8)}
    primary = ids | {
        "SECTOR": sector,
        "CAMERA": int(rng.integers(1, 5)),
        "CCD": int(rng.integers(1, 5)),
        "TESSMAG": round(star.mag, 5),
        "TEFF": round(star.teff, 2),
        "LOGG": round(star.logg, 5),
        "RADIUS": round(star.radius, 5),
    }
    table = ids | {
        "TSTART": tstart,
        "TSTOP": tstop,
        "TELAPS": tstop - tstart,
        "TIMEDEL": dt_days,
        "MJD-BEG": tstart + BTJD_REF - 2400000.5,
        "MJD-END": tstop + BTJD_REF - 2400000.5,
    }
    out = _resolve(path, qlp_filename(tic_id, sector), False)
    with _LOCK:
        hdul = _qlp_skeleton(str(Path(template_dir or DEFAULT_TEMPLATE_DIR).resolve()), n)
        data = hdul[1].data.view(np.ndarray)
        for name in data.dtype.names:
            data[name] = cols[name]
        for hdu, values in zip(hdul, (primary, table), strict=True):
            for key, value in values.items():
                hdu.header[key] = value
        out.parent.mkdir(parents=True, exist_ok=True)
        hdul.writeto(out, overwrite=True, output_verify="ignore")
    return out


def make_qlp_set(
    folder: PathLike,
    n_files: int,
    *,
    min_cadences: int = 1000,
    max_cadences: int = 2000,
    seed: int = 0,
    first_tic: int = 200000000,
    sectors: tuple[int, ...] = (1, 2),
) -> list[Path]:
    """``n_files`` distinct QLP files with MAST names, each TIC in all ``sectors``.

    Lengths are drawn per file from eight values spread over [min_cadences, max_cadences]
    (a table skeleton is built once per length, so a few lengths keep writing fast).
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    choices = np.linspace(min_cadences, max_cadences, 8).round().astype(int)
    lengths = np.random.default_rng([seed, 5, first_tic]).choice(choices, n_files)
    return [
        write_qlp_lightcurve(
            folder,
            tic_id=first_tic + i // len(sectors),
            sector=sectors[i % len(sectors)],
            n_cadences=int(lengths[i]),
            seed=seed,
        )
        for i in range(n_files)
    ]


# ---------------------------------------------------------------- simulation


def _tess_quality(q: np.ndarray, t: np.ndarray, rng: np.random.Generator, obs: _Obs,
                  orbit_starts: list[int]) -> None:
    dump = rng.uniform(0, 3.0)
    q[_periodic(t, 3.125, dump, 600 / 86400, obs.dt)] |= 32  # momentum dump
    q[_periodic(t, 3.125, dump, 240 / 86400, obs.dt)] |= 4  # coarse pointing during it
    # scattered light after each perigee: straylight, partly excluded (capped for short spans)
    stray, excluded = min(round(0.5 / obs.dt), obs.n // 40), min(round(0.12 / obs.dt), obs.n // 160)
    for s in orbit_starts:
        q[s: s + stray] |= 2048
        q[s: s + excluded] |= 128
    for bit, p in ((1, 1e-4), (16, 1e-4), (512, 5e-4), (1024, 3e-3)):
        q[rng.random(obs.n) < p] |= bit
    if obs.dt < 60 / 86400:  # 20-s data: cosmic rays are flagged, not removed onboard
        q[rng.random(obs.n) < 3e-3] |= 64


def _kepler_quality(q: np.ndarray, t: np.ndarray, rng: np.random.Generator, obs: _Obs,
                    orbit_starts: list[int]) -> None:
    phase = rng.uniform(0, 3.0)
    if obs.k2_roll:
        q[_periodic(t, obs.k2_roll, phase, 0, obs.dt)] |= 1048576  # thruster firing
        q[_periodic(t, 2.0, phase + 0.2, KEPLER_LC_DAYS, obs.dt)] |= 32 | 32768  # desat, no fine point
        rare = ((524288, 1e-3), (2048, 2e-3), (8192, 3e-2), (16384, 5e-4))
    else:
        q[_periodic(t, 3.0, phase, KEPLER_LC_DAYS, obs.dt)] |= 32 | 32768  # desat, no fine point
        q[_periodic(t, 3.0, phase + 1.5, 0.04, obs.dt)] |= 16  # reaction-wheel zero crossing
        mid = obs.n * 3 // 5
        q[mid: mid + min(round(0.15 / obs.dt), obs.n // 100)] |= 256  # manual exclude
        rare = ((128, 1e-2), (8192, 3e-2), (1024, 5e-4), (16384, 5e-4), (1, 3e-4))
    for bit, p in rare:
        q[rng.random(obs.n) < p] |= bit


_QualityFn = Callable[[np.ndarray, np.ndarray, np.random.Generator, _Obs, list[int]], None]


def _simulate(obs: _Obs, star: Star, rng: np.random.Generator, flag_quality: _QualityFn
              ) -> tuple[dict[str, np.ndarray], dict[str, object]]:
    """Table columns (by template column name) and the data-derived header values."""
    n, tmpl = obs.n, obs.tmpl
    idx = np.arange(n)
    t = obs.start + (idx + 0.5) * obs.dt  # nominal mid-cadence times, gaps included
    span = n * obs.dt
    time_nan = np.zeros(n, bool)
    quality = np.zeros(n, np.int32)
    orbit_starts = [0]
    for first, rows, bits in obs.gaps:
        time_nan[first: first + rows] = True
        quality[first: first + rows] |= bits
        if rows > 1:
            orbit_starts.append(first + rows)
    flag_quality(quality, t, rng, obs, orbit_starts)

    # PDC = star * (rotation - transit); SAP = PDC * FLFRCSAP + contamination + systematics
    model = 1 + star.rot_amp * np.sin(2 * np.pi * t / star.rot_period + star.rot_phase)
    if (tr := star.transit) is not None:
        ph = (t + obs.bjdref - tr.t0_bjd + tr.period / 2) % tr.period - tr.period / 2
        model -= tr.depth * np.clip((tr.duration / 2 - np.abs(ph)) / (0.15 * tr.duration), 0, 1)
    crowd, flfrac = rng.uniform(0.9, 1.0), rng.uniform(0.75, 0.95)
    seg_start = np.zeros(n, int)
    seg_start[orbit_starts] = orbit_starts
    since = t - t[np.maximum.accumulate(seg_start)]  # days since the segment started
    roll = ((t - obs.start) / obs.k2_roll) % 1 - 0.5 if obs.k2_roll else np.zeros(n)
    systematics = -0.002 * np.exp(-since / 0.8) + 5e-4 * (t - t[0]) / span + 1e-3 * roll
    bkg = star.flux * rng.uniform(0.03, 0.3) * (1 + 0.3 * np.exp(-since / 1.5))
    exposure_s = obs.dt * 86400 * obs.deadc
    sap_clean = star.flux * flfrac * (model + systematics + (1 - crowd) / crowd)
    sap_err = 1.1 * np.sqrt((sap_clean + bkg) * exposure_s) / exposure_s  # photon + read
    noise = rng.standard_normal((5, n))
    sap = sap_clean + sap_err * noise[0]
    rel = float(np.median(sap_err)) / (flfrac * star.flux)  # per-cadence PDC scatter
    pdc = star.flux * model + sap_err * noise[0] / flfrac
    outlier = (quality & (512 if obs.bjdref == BTJD_REF else 2048)) != 0  # impulsive outlier
    sap[outlier] += 8 * sap_err[outlier]
    pdc[outlier] += 8 * sap_err[outlier] / flfrac

    # centroids: target pixel from a random aperture origin, jitter, drift (+ K2 roll)
    col0, row0 = (int(x) for x in rng.integers((12, 20), (1100, 1030)))
    if obs.bjdref == BTJD_REF:
        col0, row0 = col0 + 45, row0  # TESS CCDs: science columns start at 45
    ap = tmpl.headers[2]
    cen_err = 0.08 / np.sqrt(star.flux)
    drift = 0.01 * (t - t[0]) / span + 0.3 * roll
    mom1 = col0 + ap["CRPIX1"] - 1 + drift + cen_err * noise[1]
    mom2 = row0 + ap["CRPIX2"] - 1 - 0.5 * drift + cen_err * noise[2]
    timecorr = 0.0057 * np.cos(np.radians(star.dec)) * np.cos(
        2 * np.pi * (t + obs.bjdref) / 365.25 - np.radians(star.ra))  # barycentric, days
    psf = (np.full(n, np.nan),) * 2 if not tmpl.psf_filled else (mom1 + 0.02, mom2 - 0.02)
    cols = {
        "TIME": np.where(time_nan, np.nan, t), "TIMECORR": timecorr,
        "CADENCENO": np.floor((t - obs.cad_ref) / obs.dt).astype(np.int32),
        "SAP_FLUX": sap, "SAP_FLUX_ERR": sap_err,
        "SAP_BKG": bkg + 0.1 * np.sqrt(bkg) * noise[3], "SAP_BKG_ERR": 0.1 * np.sqrt(bkg),
        "PDCSAP_FLUX": pdc, "PDCSAP_FLUX_ERR": sap_err / flfrac,
        "MOM_CENTR1": mom1, "MOM_CENTR1_ERR": np.full(n, cen_err),
        "MOM_CENTR2": mom2, "MOM_CENTR2_ERR": np.full(n, 1.1 * cen_err),
        "PSF_CENTR1": psf[0], "PSF_CENTR1_ERR": psf[0] * 0 + 2 * cen_err,
        "PSF_CENTR2": psf[1], "PSF_CENTR2_ERR": psf[1] * 0 + 2 * cen_err,
        "POS_CORR1": 0.9 * drift + 2e-3 * noise[4], "POS_CORR2": -0.45 * drift + 2e-3 * noise[4],
    }
    no_sap = time_nan | ((quality & obs.sap_nan) != 0)
    for name, arr in cols.items():
        if name not in ("TIME", "TIMECORR", "CADENCENO"):
            arr[no_sap] = np.nan
    no_pdc = (quality & obs.pdc_nan) != 0
    cols["PDCSAP_FLUX"][no_pdc] = cols["PDCSAP_FLUX_ERR"][no_pdc] = np.nan
    quality_col = next(c.name for c in tmpl.columns if "QUALITY" in c.name)
    cols[quality_col] = quality

    tstart, tstop = t[0] - obs.dt / 2, t[-1] + obs.dt / 2
    stats: dict[str, object] = {
        "TSTART": tstart, "TSTOP": tstop, "TELAPSE": tstop - tstart,
        "LIVETIME": (tstop - tstart) * obs.deadc, "EXPOSURE": (tstop - tstart) * obs.deadc,
        "DEADC": obs.deadc, "TIMEDEL": obs.dt,
        "DATE-OBS": _utc_str(tstart + obs.bjdref, tmpl.utc_z),
        "DATE-END": _utc_str(tstop + obs.bjdref, tmpl.utc_z),
        "LC_START": t[0] - timecorr[0] + obs.bjdref - 2400000.5,  # MJD, spacecraft clock
        "LC_END": t[-1] - timecorr[-1] + obs.bjdref - 2400000.5,
        "CROWDSAP": round(crowd, 4), "FLFRCSAP": round(flfrac, 4),
        "PDCVAR": float(np.hypot(1, 0.707 * star.rot_amp / rel)),
        "CRVAL1P": col0, "CRVAL2P": row0,
    }
    for key in tmpl.cdpp_keys:  # white noise binned to the key's duration, a bit of red
        hours = float(key[4:].replace("_", "."))
        stats[key] = round(1.15e6 * rel / np.sqrt(hours / 24 / obs.dt), 4)
    return cols, stats


def _periodic(t: np.ndarray, every: float, phase: float, width: float, cadence: float
              ) -> np.ndarray:
    """Cadences within ``width`` (at least one cadence) after each periodic event."""
    return (t - phase) % every < max(width, cadence)


def _identity(star: Star, *, tess: bool) -> dict[str, object]:
    pm_scale = 1.0 if tess else 1e-3  # TESS headers use mas/yr, Kepler arcsec/yr
    pmra, pmdec = star.pmra * pm_scale, star.pmdec * pm_scale
    digits = 13 if tess else 6
    return {"RA_OBJ": round(star.ra, digits), "DEC_OBJ": round(star.dec, digits),
            "CRVAL1": star.ra, "CRVAL2": star.dec,
            "PMRA": round(pmra, 8), "PMDEC": round(pmdec, 8),
            "PMTOTAL": round(float(np.hypot(pmra, pmdec)), 8),
            "TEFF": round(star.teff, 3), "LOGG": round(star.logg, 5),
            "RADIUS": round(star.radius, 5)}


# ---------------------------------------------------------------- templates and writing


def _template(kind: str, template_dir: PathLike | None) -> _Template:
    return _load_template(kind, str(Path(template_dir or DEFAULT_TEMPLATE_DIR).resolve()))


@cache
def _load_template(kind: str, template_dir: str) -> _Template:
    with fits.open(Path(template_dir) / TEMPLATE_FILES[kind], memmap=False) as hdul:
        return _Template(kind=kind,
                         headers=(hdul[0].header.copy(), hdul[1].header.copy(),
                                  hdul[2].header.copy()),
                         columns=tuple(fits.Column(name=c.name, format=c.format, unit=c.unit, disp=c.disp)
                                       for c in hdul[1].columns),
                         aperture=np.array(hdul[2].data),
                         psf_filled=bool(np.isfinite(hdul[1].data["PSF_CENTR1"]).any()),
                         kinds=tuple({c.keyword: type(c.value) for c in h.header.cards} for h in hdul))


@lru_cache(maxsize=8)
def _skeleton(tmpl: _Template, n: int) -> fits.HDUList:
    """Template-shaped HDUList with an n-row table, refilled in place for every file."""
    h0, h1, h2 = tmpl.headers
    columns = [fits.Column(name=c.name, format=c.format, unit=c.unit, disp=c.disp,
                           array=np.zeros(n, c.dtype)) for c in tmpl.columns]
    hdul = fits.HDUList([fits.PrimaryHDU(header=h0.copy()),
                         fits.BinTableHDU.from_columns(columns, header=h1.copy()),
                         fits.ImageHDU(data=tmpl.aperture.copy(), header=h2.copy())])
    hdul.update_extend()  # PrimaryHDU drops EXTEND; this puts it back after NAXIS
    for hdu, src in zip(hdul, tmpl.headers, strict=True):  # astropy rewrites structural-card comments
        for card in src.cards:
            if card.keyword in hdu.header:
                hdu.header.comments[card.keyword] = card.comment
    # Re-read from bytes: the table comes back big-endian (no byte swapping per checksum/write)
    # and the cards unmodified, so only the cards changed per file get re-formatted.
    return _reloaded(hdul)


def _write(obs: _Obs, out: Path, cols: dict[str, np.ndarray], values: dict[str, object],
           tmofst: tuple[int, int] | None = None) -> Path:
    stamp = f"{values['DATE']}T12:00:00Z"  # fixed checksum comments: same input, same bytes
    with _LOCK:
        hdul = _skeleton(obs.tmpl, obs.n)
        table = hdul[1].data.view(np.ndarray)
        for name in table.dtype.names:
            table[name] = cols[name]
        for hdu, kinds in zip(hdul, obs.tmpl.kinds, strict=True):
            header = hdu.header
            for key, value in values.items():
                if value is not None and key in kinds:
                    header[key] = _like(kinds[key], value)
            old = next((k for k in header if k.startswith("TMOFST")), None)
            if tmofst is not None and old is not None:  # named after camera and CCD
                new = "TMOFST{}{}".format(*tmofst)
                if old != new:
                    header.rename_keyword(old, new)
                header.comments[new] = "(s) readout delay for camera {} and ccd {}".format(*tmofst)
            hdu.add_datasum(when=f"data unit checksum updated {stamp}")
            hdu.add_checksum(when=f"HDU checksum updated {stamp}", override_datasum=True)
        out.parent.mkdir(parents=True, exist_ok=True)
        if out.suffix == ".gz":  # mtime=0 keeps .gz output reproducible
            buf = io.BytesIO()
            hdul.writeto(buf, output_verify="ignore")
            with open(out, "wb") as fh, gzip_mod.GzipFile(
                    filename=out.name[:-3], mode="wb", fileobj=fh, mtime=0) as gz:
                gz.write(buf.getvalue())
        else:
            hdul.writeto(out, overwrite=True, output_verify="ignore")
    return out


def _like(kind: type, value: object) -> object:
    """Keep the template's card type (Kepler TEFF is an int, TESS TEFF a float)."""
    if kind is bool or isinstance(value, (bool, str)):
        return value
    if kind is int:
        return round(float(value))  # type: ignore[arg-type]
    if kind is float:
        return float(value)  # type: ignore[arg-type]
    return value  # undefined in the template: take the value as it is


def _resolve(path: PathLike, name: str, gzip: bool) -> Path:
    """A directory (existing, or any path not ending in .fits/.fits.gz) gets the MAST file name.

    A ``.gz`` name is written compressed whatever ``gzip`` says.
    """
    out = Path(path)
    if out.is_dir() or not out.name.lower().endswith((".fits", ".fits.gz")):
        out = out / name
    if gzip and out.suffix != ".gz":
        out = out.with_name(out.name + ".gz")
    return out


def _check_n(n: int) -> int:
    if n < 100:
        raise ValueError("n_cadences must be >= 100")
    return n


def _galactic(ra: float, dec: float) -> tuple[float, float]:
    r, d = np.radians(ra), np.radians(dec)
    x, y, z = _ICRS_TO_GAL @ np.array([np.cos(d) * np.cos(r), np.cos(d) * np.sin(r), np.sin(d)])
    return (round(float(np.degrees(np.arctan2(y, x)) % 360), 6),
            round(float(np.degrees(np.arcsin(z))), 6))


_LEAP_SECONDS = ((dt.datetime(2017, 1, 1), 37), (dt.datetime(2015, 7, 1), 36),
                 (dt.datetime(2012, 7, 1), 35), (dt.datetime(2009, 1, 1), 34))


def _utc(bjd: float) -> dt.datetime:
    """UTC of a TDB Julian date; the light-time offset is ignored (header dates are nominal)."""
    tdb = dt.datetime(2000, 1, 1, 12) + dt.timedelta(days=bjd - 2451545.0)
    leap = next((s for start, s in _LEAP_SECONDS if tdb >= start), 33)
    return tdb - dt.timedelta(seconds=32.184 + leap)


def _utc_str(bjd: float, z: bool) -> str:
    return _utc(bjd).isoformat(timespec="milliseconds") + ("Z" if z else "")


def _reloaded(hdul: fits.HDUList) -> fits.HDUList:
    """Re-read from bytes with every HDU's data loaded, to be refilled in place for each file."""
    buf = io.BytesIO()
    hdul.writeto(buf, output_verify="ignore")
    buf.seek(0)
    hdul = fits.open(buf, memmap=False, lazy_load_hdus=False)
    for hdu in hdul:
        _ = hdu.data
    return hdul


@lru_cache(maxsize=8)
def _qlp_skeleton(template_dir: str, n: int) -> fits.HDUList:
    """The QLP template's HDUs with an n-row table, refilled in place for every file."""
    with fits.open(Path(template_dir) / QLP_TEMPLATE_FILE, memmap=False) as src:
        h0, h1 = src[0].header.copy(), src[1].header.copy()
        columns = [
            fits.Column(name=c.name, format=c.format, unit=c.unit, array=np.zeros(n, c.dtype)) for c in src[1].columns
        ]
    hdul = fits.HDUList([fits.PrimaryHDU(header=h0), fits.BinTableHDU.from_columns(columns, header=h1)])
    return _reloaded(hdul)
