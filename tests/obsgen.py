"""Small JWST and HST products in the formats the STScI pipelines write, made with astropy.

The layouts follow the JWST datamodels schemas (stdatamodels `spectable`, `tso_spectable`,
`int_times`, `specmeta`), the pipeline steps that write the text products (`white_light`,
`tso_photometry`) and the HST data handbooks (COS and STIS `x1d`, WFC3/ACS `flt`/`drz`):
extension names, column names, units and the header keywords a reader looks at. The data are
small (a few hundred wavelengths, 64x64 images) so a test makes dozens per second.

`make_product(file_name, dest, **facts)` picks the writer from the suffix in the name; each
writer can also be called alone. Everything is deterministic: values depend on the file name
and `seed` only.

JWST x1dints files exist in two layouts:
- ``per_integration`` (early pipeline builds): one EXTRACT1D extension per integration and
  order, with INT_NUM, MJD-AVG, TDB-MID, ... as header keywords;
- ``per_order`` (pipeline 1.18 and later): one EXTRACT1D table per order, one row per
  integration, 2-D spectral columns and per-row INT_NUM, MJD-*/TDB-* columns.
Both carry an INT_TIMES table. White-light curves (`whtlt`) have three column namings over the
pipeline's history: ``bjd`` (MJD_UTC, BJD_TDB), ``int_mid`` (int_mid_MJD_UTC, int_mid_BJD_TDB)
and ``utc`` (only MJD in UTC, before BJD_TDB was added).
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

import numpy as np
from astropy.io import fits
from astropy.table import QTable, Table

__all__ = [
    "HST_COS_X1D",
    "HST_STIS_X1D",
    "JWST_TSO_WHTLT",
    "JWST_TSO_X1DINTS",
    "jwst_stage3_name",
    "make_product",
    "write_hst_image",
    "write_hst_x1d",
    "write_jwst_image",
    "write_jwst_large",
    "write_jwst_phot",
    "write_jwst_whtlt",
    "write_jwst_x1d",
    "write_jwst_x1dints",
]

# Example names as MAST lists them (WASP-39 b, NIRISS/SOSS, program 2734; HST COS and STIS).
JWST_TSO_X1DINTS = "jw02734-o002_t001_niriss_clear-gr700xd-substrip256_x1dints.fits"
JWST_TSO_WHTLT = "jw02734-o002_t001_niriss_clear-gr700xd-substrip256_whtlt.ecsv"
HST_COS_X1D = "lbgu17qnq_x1d.fits"
HST_STIS_X1D = "o6h503010_x1d.fits"

MJD_TO_BJD_TDB = 69.184 / 86400 + 0.0021  # TT-UTC plus a light-travel term: BJD_TDB (as MJD) - MJD_UTC
JWST_CAL_VER = "1.18.0"

_JWST_STAGE3 = re.compile(r"^jw(?P<program>\d{5})-o(?P<obs>\d{3})_")
_JWST_STAGE2 = re.compile(r"^jw(?P<program>\d{5})(?P<obs>\d{3})(?P<visit>\d{3})_")


def jwst_stage3_name(program: int | str, observation: int, target: str, optical: str, suffix: str) -> str:
    """A stage-3 product name: jw<ppppp>-o<ooo>_<target>_<instrument>_<optical path>_<suffix>.<ext>."""
    ext = "ecsv" if suffix in ("whtlt", "phot") else "fits"
    return f"jw{int(program):05d}-o{int(observation):03d}_{target}_{optical}_{suffix}.{ext}"


def make_product(file_name: str, dest: Path, **facts: Any) -> Path:
    """Write the product `file_name` into the folder `dest` (or to `dest` itself when it ends with that name).

    The writer is chosen from the suffix (and, for x1d and images, the observatory from the name:
    JWST names start with 'jw'). `facts` go to the writer (target, ra, dec, program, layout, ...).
    """
    dest = Path(dest)
    path = dest if dest.name == file_name else dest / file_name
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = _suffix(file_name)
    jwst = file_name.lower().startswith("jw")
    if suffix == "x1dints":
        return write_jwst_x1dints(path, **facts)
    if suffix == "whtlt":
        return write_jwst_whtlt(path, **facts)
    if suffix == "phot":
        return write_jwst_phot(path, **facts)
    if suffix in ("x1d", "x1dsum", "c1d", "sx1"):
        return write_jwst_x1d(path, **facts) if jwst else write_hst_x1d(path, **facts)
    if suffix in ("cal", "i2d", "crf"):
        return write_jwst_image(path, **facts)
    if suffix in ("flt", "flc", "drz", "drc"):
        return write_hst_image(path, **facts)
    if suffix in ("calints", "uncal", "rateints", "rate"):
        return write_jwst_large(path, **facts)
    raise ValueError(f"{file_name}: no generator for suffix {suffix!r}")


# ---------------------------------------------------------------- JWST spectra


def write_jwst_x1d(
    path: Path,
    *,
    orders: tuple[int, ...] = (1,),
    n_wave: int = 200,
    error_column: str = "FLUX_ERROR",
    instrument: str = "NIRSPEC",
    **facts: Any,
) -> Path:
    """A JWST x1d: one EXTRACT1D table per order (SPORDER in its header), then an ASDF extension.

    `error_column='ERROR'` writes the early layout (ERROR instead of FLUX_ERROR, no variances).
    """
    path = Path(path)
    rng = _rng(path.name, facts.get("seed"))
    primary = _jwst_primary(path.name, instrument=instrument, **facts)
    hdus: list[fits.hdu.base.ExtensionHDU] = []
    for order in orders:
        wave = _wavelengths(order, n_wave)
        flux = _spectrum(rng, wave)
        table = _spec_table(rng, wave, flux, error_column=error_column)
        hdu = fits.table_to_hdu(table)
        hdu.name = "EXTRACT1D"
        hdu.header["SPORDER"] = (order, "Spectral order number")
        hdu.header["DETECTOR"] = primary.header["DETECTOR"]
        hdu.header["SRCTYPE"] = ("POINT", "Source type used for calibration")
        hdu.ver = len(hdus) + 1
        _write_units(hdu, _JWST_UNITS)
        hdus.append(hdu)
    fits.HDUList([primary, *hdus, _asdf_hdu()]).writeto(path, overwrite=True, checksum=True)
    return path


def write_jwst_x1dints(
    path: Path,
    *,
    layout: str = "per_order",
    orders: tuple[int, ...] = (1, 2),
    n_ints: int = 20,
    n_wave: int = 200,
    int_times: bool = True,
    **facts: Any,
) -> Path:
    """A JWST x1dints in the `layout` 'per_order' (current) or 'per_integration' (early builds).

    Orders after the first have fewer valid wavelengths (N_ALONGDISP) and are NaN-padded in the
    per-order layout, as NIRISS SOSS order 2 is.
    """
    if layout not in ("per_order", "per_integration"):
        raise ValueError(f"unknown x1dints layout {layout!r}")
    path = Path(path)
    rng = _rng(path.name, facts.get("seed"))
    facts.setdefault("instrument", "NIRISS")
    primary = _jwst_primary(path.name, n_ints=n_ints, **facts)
    beg, mid, end = _int_times(n_ints, facts.get("t0_mjd", 59791.1))
    depth = _transit(mid)
    per_order: list[list[Table]] = []
    for k, order in enumerate(orders):
        n_valid = n_wave if k == 0 else n_wave * 3 // 4
        wave = _wavelengths(order, n_valid)
        base = _spectrum(rng, wave)
        per_order.append([_spec_table(rng, wave, base * depth[i]) for i in range(n_ints)])
    hdus: list[fits.hdu.base.ExtensionHDU] = []
    if layout == "per_order":
        for order, spectra in zip(orders, per_order, strict=True):
            hdus.append(_tso_table(spectra, order, n_wave, beg, mid, end, primary.header["DETECTOR"]))
    else:  # integration after integration, each with its orders, as early SOSS products are
        times = {"BEG": beg, "MID": mid, "END": end}
        for i in range(n_ints):
            for order, spectra in zip(orders, per_order, strict=True):
                hdu = fits.table_to_hdu(spectra[i])
                hdu.header["SPORDER"] = (order, "Spectral order number")
                hdu.header["DETECTOR"] = primary.header["DETECTOR"]
                hdu.header["INT_NUM"] = (i + 1, "Integration number")
                for key, (which, offset) in _TIME_KEYS.items():
                    hdu.header[key] = times[which][i] + offset
                hdus.append(hdu)
    for ver, hdu in enumerate(hdus, start=1):
        hdu.name, hdu.ver = "EXTRACT1D", ver
        _write_units(hdu, _JWST_UNITS)
    if int_times:
        hdus.append(_int_times_hdu(beg, mid, end))
    fits.HDUList([primary, *hdus, _asdf_hdu()]).writeto(path, overwrite=True, checksum=True)
    return path


# keyword -> (which time, offset added to the UTC MJD): the TDB ones are BJD_TDB in MJD form
_TIME_KEYS = {
    "MJD-BEG": ("BEG", 0.0),
    "MJD-AVG": ("MID", 0.0),
    "MJD-END": ("END", 0.0),
    "TDB-BEG": ("BEG", MJD_TO_BJD_TDB),
    "TDB-MID": ("MID", MJD_TO_BJD_TDB),
    "TDB-END": ("END", MJD_TO_BJD_TDB),
}


def _tso_table(spectra, order, n_wave, beg, mid, end, detector) -> fits.BinTableHDU:
    """One order of the per-order layout: a row per integration, spectral columns n_wave wide."""
    n = len(spectra)
    out = Table()
    out["INT_NUM"] = np.arange(1, n + 1, dtype=np.int32)
    for name in spectra[0].colnames:
        src = spectra[0][name]
        fill = 1 if name == "DQ" else (0 if name == "NPIXELS" else np.nan)
        arr = np.full((n, n_wave), fill, dtype=src.dtype)
        for i, t in enumerate(spectra):
            arr[i, : len(t)] = np.asarray(t[name])
        out[name] = arr
    out["N_ALONGDISP"] = np.full(n, len(spectra[0]), dtype=np.uint32)
    out["SEGMENT"] = np.ones(n, dtype=np.int32)
    times = {"BEG": beg, "MID": mid, "END": end}
    for key, (which, offset) in _TIME_KEYS.items():
        out[key] = times[which] + offset
    hdu = fits.table_to_hdu(out)
    hdu.name = "EXTRACT1D"
    hdu.header["SPORDER"] = (order, "Spectral order number")
    hdu.header["DETECTOR"] = detector
    return hdu


# The unit strings the JWST pipeline writes in EXTRACT1D (TUNITn), by column name.
_JWST_UNITS = {
    "WAVELENGTH": "um",
    "FLUX": "Jy",
    "FLUX_ERROR": "Jy",
    "ERROR": "Jy",
    "SURF_BRIGHT": "MJy/sr",
    "SB_ERROR": "MJy/sr",
    "BACKGROUND": "MJy/sr",
    "BKGD_ERROR": "MJy/sr",
}
_JWST_UNITS |= {f"FLUX_VAR_{p}": "Jy^2" for p in ("POISSON", "RNOISE", "FLAT")}
_JWST_UNITS |= {f"{c}_VAR_{p}": "(MJy/sr)^2" for c in ("SB", "BKGD") for p in ("POISSON", "RNOISE", "FLAT")}
_JWST_UNITS |= {k: "d" for k in ("MJD-BEG", "MJD-AVG", "MJD-END", "TDB-BEG", "TDB-MID", "TDB-END")}


def _write_units(hdu: fits.BinTableHDU, units: dict[str, str]) -> None:
    """Set each column's TUNIT to the pipeline's spelling; columns without a unit get none."""
    for i, name in enumerate(hdu.columns.names, start=1):
        key = f"TUNIT{i}"
        if name in units:
            hdu.header[key] = units[name]
        elif key in hdu.header:
            del hdu.header[key]


def _spec_table(rng, wave, flux, *, error_column: str = "FLUX_ERROR") -> Table:
    """The EXTRACT1D columns of stdatamodels' spectable, with the units the pipeline sets."""
    n = len(wave)
    err = np.abs(flux) * 0.002 + 1e-6
    sb = flux / 2.5e-3  # Jy over a ~2.5e-3 MJy/sr-per-Jy aperture solid angle, roughly
    t = Table()
    t["WAVELENGTH"] = np.asarray(wave, dtype=np.float64)
    t["FLUX"] = flux + rng.normal(0, 1, n) * err
    if error_column == "ERROR":  # early layout: one error column, no variances, no SB_ERROR
        t["ERROR"] = err
        t["SURF_BRIGHT"] = sb
        t["SB_ERROR"] = sb * 0.002
    else:
        t["FLUX_ERROR"] = err
        for part, frac in (("POISSON", 0.8), ("RNOISE", 0.15), ("FLAT", 0.05)):
            t[f"FLUX_VAR_{part}"] = err**2 * frac
        t["SURF_BRIGHT"] = sb
        t["SB_ERROR"] = sb * 0.002
        for part, frac in (("POISSON", 0.8), ("RNOISE", 0.15), ("FLAT", 0.05)):
            t[f"SB_VAR_{part}"] = (sb * 0.002) ** 2 * frac
    dq = np.zeros(n, dtype=np.uint32)
    dq[rng.integers(0, n, 3)] = 1  # DO_NOT_USE
    dq[:2] = 4  # JUMP_DET at the edges
    t["DQ"] = dq
    t["BACKGROUND"] = np.full(n, 0.05) + rng.normal(0, 0.001, n)
    if error_column != "ERROR":
        t["BKGD_ERROR"] = np.full(n, 0.001)
        for part in ("POISSON", "RNOISE", "FLAT"):
            t[f"BKGD_VAR_{part}"] = np.full(n, 3.3e-7)
    t["NPIXELS"] = np.full(n, 30.0)
    return t


def _int_times_hdu(beg, mid, end) -> fits.BinTableHDU:
    t = Table()
    t["integration_number"] = np.arange(1, len(mid) + 1, dtype=np.int32)
    t["int_start_MJD_UTC"] = beg
    t["int_mid_MJD_UTC"] = mid
    t["int_end_MJD_UTC"] = end
    t["int_start_BJD_TDB"] = beg + MJD_TO_BJD_TDB
    t["int_mid_BJD_TDB"] = mid + MJD_TO_BJD_TDB
    t["int_end_BJD_TDB"] = end + MJD_TO_BJD_TDB
    hdu = fits.table_to_hdu(t)
    hdu.name = "INT_TIMES"
    return hdu


def _asdf_hdu() -> fits.BinTableHDU:
    """A stand-in for the ASDF extension (the real one holds the datamodel tree as bytes)."""
    tree = np.frombuffer(b"#ASDF 1.0.0\n#ASDF_STANDARD 1.5.0\n%YAML 1.1\n--- {}\n...\n", dtype=np.uint8)
    hdu = fits.BinTableHDU.from_columns([fits.Column(name="ASDF_METADATA", format=f"{tree.size}B", array=[tree])])
    hdu.name = "ASDF"
    return hdu


# ---------------------------------------------------------------- JWST text products


def write_jwst_whtlt(
    path: Path,
    *,
    orders: tuple[int, ...] = (1, 2),
    n_ints: int = 20,
    times: str = "bjd",
    **facts: Any,
) -> Path:
    """A white-light curve as calwebb_tso3 writes it (ascii.ecsv, one row per integration).

    Fluxes are `whitelight_flux` for one order, `whitelight_flux_order_<n>` for several; `times`
    picks the time columns of a pipeline era: 'bjd' (MJD_UTC, BJD_TDB), 'int_mid'
    (int_mid_MJD_UTC, int_mid_BJD_TDB) or 'utc' (MJD only).
    """
    path = Path(path)
    rng = _rng(path.name, facts.get("seed"))
    _, mid, _ = _int_times(n_ints, facts.get("t0_mjd", 59791.1))
    meta = {
        "instrument": facts.get("instrument", "NIRISS"),
        "exp_type": facts.get("exp_type", "NIS_SOSS"),
        "subarray": facts.get("subarray", "SUBSTRIP256"),
        "filter": facts.get("filter", "CLEAR"),
        "pupil": facts.get("pupil", "GR700XD"),
        "target_name": facts.get("target", "WASP-39"),
    }
    t = QTable(meta=meta)
    if times == "bjd":
        t["MJD_UTC"] = mid
        t["BJD_TDB"] = mid + MJD_TO_BJD_TDB
    elif times == "int_mid":
        t["int_mid_MJD_UTC"] = mid
        t["int_mid_BJD_TDB"] = mid + MJD_TO_BJD_TDB
    elif times == "utc":
        t["MJD"] = mid
    else:
        raise ValueError(f"unknown whtlt times {times!r}")
    for k, order in enumerate(orders):
        name = "whitelight_flux" if len(orders) == 1 else f"whitelight_flux_order_{order}"
        level = 0.08 / (k + 1)
        t[name] = level * _transit(mid) * (1 + rng.normal(0, 2e-4, n_ints))
        t[name].unit = "Jy"
    t.write(path, format="ascii.ecsv", overwrite=True)
    return path


def write_jwst_phot(path: Path, *, n_ints: int = 20, times: str = "bjd", **facts: Any) -> Path:
    """A TSO imaging photometry catalog as tso_photometry writes it (ascii.ecsv).

    `times='utc'` writes the layout before BJD_TDB was added (MJD only).
    """
    path = Path(path)
    rng = _rng(path.name, facts.get("seed"))
    _, mid, _ = _int_times(n_ints, facts.get("t0_mjd", 59791.1))
    meta = {
        "instrument": facts.get("instrument", "NIRCAM"),
        "detector": facts.get("detector", "NRCA3"),
        "channel": "SHORT",
        "subarray": facts.get("subarray", "SUB64P"),
        "filter": facts.get("filter", "F210M"),
        "pupil": facts.get("pupil", "CLEAR"),
        "target_name": facts.get("target", "WASP-39"),
        "apertures": "Photometry measured in a circular aperture of r=3.0 pixels. Background calculated as the "
        "mean in a circular annulus with r_inner=4.0 pixels and r_outer=5.0 pixels.",
    }
    unit = "Jy"
    t = QTable(meta=meta)
    t["MJD"] = mid
    if times == "bjd":
        t["BJD_TDB"] = mid + MJD_TO_BJD_TDB
    elif times != "utc":
        raise ValueError(f"unknown phot times {times!r}")
    total = 0.5 * _transit(mid) * (1 + rng.normal(0, 3e-4, n_ints))
    bkg = np.full(n_ints, 0.002) + rng.normal(0, 1e-4, n_ints)
    cols = {
        "aperture_sum": total + bkg,
        "aperture_sum_err": np.full(n_ints, 1.5e-4),
        "annulus_sum": bkg * 2.5,
        "annulus_sum_err": np.full(n_ints, 2e-4),
        "annulus_mean": bkg / 28.3,
        "annulus_mean_err": np.full(n_ints, 7e-6),
        "aperture_bkg": bkg,
        "aperture_bkg_err": np.full(n_ints, 2e-4),
        "net_aperture_sum": total,
        "net_aperture_sum_err": np.full(n_ints, 2.5e-4),
    }
    for name, values in cols.items():
        t[name] = values
        t[name].unit = unit
    for name, value in (("aperture_x", 32.1), ("aperture_y", 31.8), ("centroid_x", 32.1), ("centroid_y", 31.8)):
        t[name] = value + rng.normal(0, 0.01, n_ints)
        t[name].unit = "pix"
    t["aperture_ra_icrs"] = np.full(n_ints, facts.get("ra", 217.3266))
    t["aperture_ra_icrs"].unit = "deg"
    t["aperture_dec_icrs"] = np.full(n_ints, facts.get("dec", -1.6165))
    t["aperture_dec_icrs"].unit = "deg"
    t.write(path, format="ascii.ecsv", overwrite=True)
    return path


# ---------------------------------------------------------------- HST spectra


def write_hst_x1d(path: Path, *, instrument: str = "COS", n_wave: int = 500, **facts: Any) -> Path:
    """An HST x1d: a SCI table with one row per COS segment (FUVA, FUVB) or STIS order (SPORDER).

    The exposure keywords (EXPTIME, EXPSTART, DATE-OBS) live in the SCI header, as calcos and
    calstis write them; wavelengths are in Angstrom, fluxes in erg/s/cm2/Angstrom.
    """
    path = Path(path)
    rng = _rng(path.name, facts.get("seed"))
    instrument = instrument.upper()
    rootname = path.name.split("_")[0].lower()
    cos = instrument == "COS"
    rows = ("FUVA", "FUVB") if cos else tuple(range(facts.get("first_order", 86), facts.get("first_order", 86) - 3, -1))
    exptime = float(facts.get("exptime", 1800.0 if cos else 2400.0))
    t = Table()
    if cos:
        t["SEGMENT"] = np.array(rows, dtype="S4")
        t["EXPTIME"] = np.full(len(rows), exptime)
    else:
        t["SPORDER"] = np.array(rows, dtype=np.int16)
    t["NELEM"] = np.full(len(rows), n_wave, dtype=np.int32)
    waves, fluxes = [], []
    for k in range(len(rows)):
        lo = (1290.0 - 160 * k) if cos else (1400.0 + 12 * k)
        wave = np.linspace(lo, lo + (150 if cos else 12), n_wave)
        waves.append(wave)
        fluxes.append(1e-14 * (1 + 0.2 * np.sin(wave / 7)) + rng.normal(0, 1e-16, n_wave))
    wave = np.array(waves)
    flux = np.array(fluxes).astype(np.float32)
    net = (flux / 1e-15).astype(np.float32)
    bkg = np.full_like(net, 0.01, dtype=np.float32)
    t["WAVELENGTH"] = wave
    t["FLUX"] = flux
    t["ERROR"] = (np.abs(flux) * 0.05).astype(np.float32)
    if cos:
        t["ERROR_LOWER"] = t["ERROR"]
    t["GROSS"] = net + bkg
    if cos:
        t["GCOUNTS"] = ((net + bkg) * exptime).astype(np.float32)
    t["NET"] = net
    t["BACKGROUND"] = bkg
    dq = np.zeros(wave.shape, dtype=np.int16)
    dq[:, :5] = 128  # edge of the detector
    dq[:, rng.integers(0, n_wave, 4)] = 4
    t["DQ"] = dq
    if cos:
        t["DQ_WGT"] = (dq == 0).astype(np.float32)
    else:
        t["NET_ERROR"] = (net * 0.05).astype(np.float32)
        t["A2CENTER"] = np.linspace(120.0, 900.0, len(rows)).astype(np.float32)
        t["EXTRSIZE"] = np.full(len(rows), 7.0, dtype=np.float32)
    sci = fits.table_to_hdu(t)
    sci.name = "SCI"
    _write_units(sci, _HST_UNITS)
    expstart = float(facts.get("expstart", 55060.31245))
    date_obs, time_obs = _iso_date(expstart)
    for key, value in (
        ("EXPTIME", exptime),
        ("EXPSTART", expstart),
        ("EXPEND", expstart + exptime / 86400),
        ("DATE-OBS", date_obs),
        ("TIME-OBS", time_obs),
        ("ROOTNAME", rootname),
    ):
        sci.header[key] = value
    primary = fits.PrimaryHDU()
    h = primary.header
    h["TELESCOP"] = "HST"
    h["INSTRUME"] = instrument
    h["DETECTOR"] = facts.get("detector", "FUV" if cos else "FUV-MAMA")
    h["OPT_ELEM"] = facts.get("opt_elem", "G130M" if cos else "E140M")
    h["CENWAVE"] = int(facts.get("cenwave", 1291 if cos else 1425))
    h["APERTURE"] = "PSA" if cos else "0.2X0.2"
    h["PROPOSID"] = int(facts.get("program", 11598 if cos else 9240))
    h["ROOTNAME"] = rootname
    h["FILENAME"] = path.name
    h["TARGNAME"] = facts.get("target", "HD-209458" if cos else "GJ-436")
    h["RA_TARG"] = float(facts.get("ra", 330.795))
    h["DEC_TARG"] = float(facts.get("dec", 18.884))
    h["EQUINOX"] = 2000.0
    h["CAL_VER"] = facts.get("cal_ver", "3.4.3 (2022-05-05)" if cos else "3.4.2 (19-Jan-2018)")
    h["DATE"] = "2023-01-12"
    h["OBSTYPE"] = "SPECTROSCOPIC"
    h["OBSMODE"] = "TIME-TAG"
    fits.HDUList([primary, sci]).writeto(path, overwrite=True, checksum=True)
    return path


# The unit strings calcos and calstis write (astropy would spell them its own way).
_HST_FLUX = "erg /s /cm**2 /angstrom"
_HST_UNITS = {
    "WAVELENGTH": "angstrom",
    "FLUX": _HST_FLUX,
    "ERROR": _HST_FLUX,
    "ERROR_LOWER": _HST_FLUX,
    "GROSS": "count /s",
    "GCOUNTS": "count",
    "NET": "count /s",
    "BACKGROUND": "count /s",
    "NET_ERROR": "count /s",
    "EXPTIME": "s",
}


# ---------------------------------------------------------------- images


def write_jwst_image(path: Path, *, shape: tuple[int, int] = (64, 64), **facts: Any) -> Path:
    """A JWST cal/i2d image: SCI (MJy/sr, celestial TAN WCS), ERR, DQ, (WHT/CON for i2d), ASDF."""
    path = Path(path)
    rng = _rng(path.name, facts.get("seed"))
    facts.setdefault("instrument", "NIRCAM")
    facts.setdefault("filter", "F444W")
    facts.setdefault("pupil", "CLEAR")
    facts.setdefault("exp_type", "NRC_IMAGE")
    facts.setdefault("detector", "NRCALONG")
    facts.setdefault("ra", 83.8221)
    facts.setdefault("dec", -5.3911)
    primary = _jwst_primary(path.name, **facts)
    i2d = _suffix(path.name) == "i2d"
    sci = fits.ImageHDU(_star_field(rng, shape), name="SCI")
    _celestial_wcs(sci.header, facts["ra"], facts["dec"], shape, scale_arcsec=0.063, roll=facts.get("roll", 23.0))
    sci.header["BUNIT"] = "MJy/sr"
    err = fits.ImageHDU(np.full(shape, 0.01, dtype=np.float32), name="ERR")
    err.header["BUNIT"] = "MJy/sr"
    hdus = [primary, sci, err]
    if i2d:
        hdus.append(fits.ImageHDU(np.ones((1, *shape), dtype=np.int32), name="CON"))
        hdus.append(fits.ImageHDU(np.ones(shape, dtype=np.float32), name="WHT"))
    else:
        hdus.append(fits.ImageHDU(np.zeros(shape, dtype=np.uint32), name="DQ"))
    hdus.append(_asdf_hdu())
    fits.HDUList(hdus).writeto(path, overwrite=True, checksum=True)
    return path


def write_hst_image(path: Path, *, shape: tuple[int, int] = (64, 64), **facts: Any) -> Path:
    """An HST flt/drz: primary with FILTER (WFC3) or FILTER1/FILTER2 (ACS); SCI with a CD-matrix WCS."""
    path = Path(path)
    rng = _rng(path.name, facts.get("seed"))
    instrument = facts.get("instrument", "WFC3").upper()
    suffix = _suffix(path.name)
    drizzled = suffix in ("drz", "drc")
    rootname = path.name.split("_")[0].lower()
    ra, dec = float(facts.get("ra", 83.8221)), float(facts.get("dec", -5.3911))
    exptime = float(facts.get("exptime", 350.0))
    expstart = float(facts.get("expstart", 55901.5061))
    date_obs, time_obs = _iso_date(expstart)
    primary = fits.PrimaryHDU()
    h = primary.header
    h["TELESCOP"] = "HST"
    h["INSTRUME"] = instrument
    h["DETECTOR"] = facts.get("detector", "UVIS" if instrument == "WFC3" else "WFC")
    h["ROOTNAME"] = rootname
    h["FILENAME"] = path.name
    h["PROPOSID"] = int(facts.get("program", 12345))
    h["TARGNAME"] = facts.get("target", "ORION-NEBULA")
    h["RA_TARG"] = ra
    h["DEC_TARG"] = dec
    if instrument == "ACS":
        h["FILTER1"] = facts.get("filter1", "F658N")
        h["FILTER2"] = facts.get("filter2", "CLEAR2L")
    else:
        h["FILTER"] = facts.get("filter", "F656N")
    h["EXPTIME"] = exptime
    h["EXPSTART"] = expstart
    h["EXPEND"] = expstart + exptime / 86400
    h["DATE-OBS"] = date_obs
    h["TIME-OBS"] = time_obs
    h["CAL_VER"] = facts.get("cal_ver", "3.7.1(Oct-18-2023)" if instrument == "WFC3" else "10.4.0 (2024-03-13)")
    h["DATE"] = "2024-04-02"
    sci = fits.ImageHDU(_star_field(rng, shape), name="SCI")
    sci.header["EXTVER"] = 1
    _celestial_wcs(
        sci.header,
        ra,
        dec,
        shape,
        scale_arcsec=0.04 if instrument == "WFC3" else 0.05,
        roll=facts.get("roll", -62.0),
        cd=True,
    )
    sci.header["BUNIT"] = "ELECTRONS/S" if drizzled else "ELECTRONS"
    hdus: list = [primary, sci]
    if drizzled:
        hdus.append(fits.ImageHDU(np.full(shape, exptime, dtype=np.float32), name="WHT"))
        hdus.append(fits.ImageHDU(np.ones(shape, dtype=np.int32), name="CTX"))
    else:
        err = fits.ImageHDU(np.full(shape, 3.0, dtype=np.float32), name="ERR")
        dq = fits.ImageHDU(np.zeros(shape, dtype=np.int16), name="DQ")
        for hdu in (err, dq):
            hdu.header["EXTVER"] = 1
        hdus += [err, dq]
    fits.HDUList(hdus).writeto(path, overwrite=True, checksum=True)
    return path


def write_jwst_large(path: Path, *, n_ints: int = 3, shape: tuple[int, int] = (16, 32), **facts: Any) -> Path:
    """A (tiny) calints/rateints/uncal: cubes in SCI (uncal: 4-D groups), INT_TIMES; MAST lists these as large."""
    path = Path(path)
    rng = _rng(path.name, facts.get("seed"))
    primary = _jwst_primary(path.name, n_ints=n_ints, **facts)
    if _suffix(path.name) == "uncal":
        sci = fits.ImageHDU(rng.integers(1000, 20000, (n_ints, 4, *shape)).astype(np.uint16), name="SCI")
        sci.header["BUNIT"] = "DN"
    else:
        sci = fits.ImageHDU(rng.normal(10, 1, (n_ints, *shape)).astype(np.float32), name="SCI")
        sci.header["BUNIT"] = "DN/s"
    beg, mid, end = _int_times(n_ints, facts.get("t0_mjd", 59791.1))
    fits.HDUList([primary, sci, _int_times_hdu(beg, mid, end), _asdf_hdu()]).writeto(path, overwrite=True)
    return path


# ---------------------------------------------------------------- shared pieces


def _jwst_primary(file_name: str, *, n_ints: int | None = None, **facts: Any) -> fits.PrimaryHDU:
    """The primary header keywords of a JWST product (core.schema), from the name and `facts`."""
    m = _JWST_STAGE3.match(file_name) or _JWST_STAGE2.match(file_name)
    program = int(facts.get("program", m.group("program") if m else 2734))
    observation = int(facts.get("observation", m.group("obs") if m else 2))
    instrument = facts.get("instrument", "NIRISS").upper()
    defaults = _JWST_MODES.get(instrument, _JWST_MODES["NIRISS"])
    t0 = float(facts.get("t0_mjd", 59791.1))
    date_obs, time_obs = _iso_date(t0)
    n = n_ints if n_ints is not None else int(facts.get("n_ints", 1))
    effinttm = float(facts.get("effinttm", _INT_SECONDS))
    h = fits.Header()
    for key, value in (
        ("DATE", facts.get("date", "2025-06-18T05:12:33.512")),
        ("ORIGIN", "STSCI"),
        ("TIMESYS", "UTC"),
        ("FILENAME", file_name),
        ("FILETYPE", "calibrated"),
        ("DATAMODL", "TSOMultiSpecModel" if _suffix(file_name) == "x1dints" else "MultiSpecModel"),
        ("TELESCOP", "JWST"),
        ("CAL_VER", facts.get("cal_ver", JWST_CAL_VER)),
        ("CRDS_CTX", "jwst_1364.pmap"),
        ("PROGRAM", f"{program:05d}"),
        ("OBSERVTN", f"{observation:03d}"),
        ("VISIT", "001"),
        ("VISITGRP", "01"),
        ("TARGNAME", facts.get("target", "WASP-39")),
        ("TARGPROP", facts.get("target", "WASP-39")),
        ("TARG_RA", float(facts.get("ra", 217.32665))),
        ("TARG_DEC", float(facts.get("dec", -1.61653))),
        ("INSTRUME", instrument),
        ("DETECTOR", facts.get("detector", defaults["DETECTOR"])),
        ("FILTER", facts.get("filter", defaults["FILTER"])),
        ("PUPIL", facts.get("pupil", defaults["PUPIL"])),
        ("EXP_TYPE", facts.get("exp_type", defaults["EXP_TYPE"])),
        ("TSOVISIT", bool(facts.get("tso", True))),
        ("SUBARRAY", facts.get("subarray", defaults["SUBARRAY"])),
        ("DATE-OBS", date_obs),
        ("TIME-OBS", time_obs),
        ("EXPSTART", t0),
        ("EXPMID", t0 + n * _INT_SECONDS / 2 / 86400),
        ("EXPEND", t0 + n * _INT_SECONDS / 86400),
        ("NINTS", n),
        ("EFFINTTM", effinttm),
        ("EFFEXPTM", effinttm * n),
        ("DURATION", _INT_SECONDS * n),
    ):
        h[key] = value
    if facts.get("grating") or defaults.get("GRATING"):
        h["GRATING"] = facts.get("grating", defaults.get("GRATING"))
    return fits.PrimaryHDU(header=h)


_JWST_MODES = {
    "NIRISS": {
        "DETECTOR": "NIS",
        "FILTER": "CLEAR",
        "PUPIL": "GR700XD",
        "EXP_TYPE": "NIS_SOSS",
        "SUBARRAY": "SUBSTRIP256",
    },
    "NIRSPEC": {
        "DETECTOR": "NRS1",
        "FILTER": "F290LP",
        "PUPIL": "NONE",
        "GRATING": "G395H",
        "EXP_TYPE": "NRS_BRIGHTOBJ",
        "SUBARRAY": "SUB2048",
    },
    "NIRCAM": {
        "DETECTOR": "NRCALONG",
        "FILTER": "F444W",
        "PUPIL": "CLEAR",
        "EXP_TYPE": "NRC_IMAGE",
        "SUBARRAY": "FULL",
    },
    "MIRI": {
        "DETECTOR": "MIRIMAGE",
        "FILTER": "P750L",
        "PUPIL": "NONE",
        "EXP_TYPE": "MIR_LRS-SLITLESS",
        "SUBARRAY": "SLITLESSPRISM",
    },
}

_INT_SECONDS = 49.4  # SOSS SUBSTRIP256 with 9 groups: effective integration time


def _int_times(n: int, t0_mjd: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Start, mid and end of each integration in MJD UTC (back to back, as in a TSO exposure)."""
    step = (_INT_SECONDS + 5.49) / 86400  # one reset frame between integrations
    beg = t0_mjd + step * np.arange(n)
    end = beg + _INT_SECONDS / 86400
    return beg, (beg + end) / 2, end


def _transit(mid: np.ndarray) -> np.ndarray:
    """Relative flux of a box transit (2 % deep) over the middle third of the series."""
    rel = np.ones(len(mid))
    n = len(mid)
    rel[n // 3 : 2 * n // 3] = 0.98
    return rel


def _wavelengths(order: int, n: int) -> np.ndarray:
    lo, hi = {1: (0.85, 2.8), 2: (0.6, 1.4), 3: (0.6, 0.95)}.get(order, (2.87, 5.18))
    return np.linspace(lo, hi, n)


def _spectrum(rng: np.random.Generator, wave: np.ndarray) -> np.ndarray:
    """A stellar-looking continuum in Jy with a few absorption lines."""
    flux = 0.05 * (wave / 1.5) ** -1.2
    for line in rng.uniform(wave.min(), wave.max(), 4):
        flux *= 1 - 0.1 * np.exp(-0.5 * ((wave - line) / 0.01) ** 2)
    return flux


def _star_field(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    img = rng.normal(0.2, 0.01, shape).astype(np.float32)
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    for _ in range(5):
        y, x, amp = rng.uniform(5, shape[0] - 5), rng.uniform(5, shape[1] - 5), rng.uniform(5, 50)
        img += (amp * np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / 3.0)).astype(np.float32)
    return img


def _celestial_wcs(
    header: fits.Header,
    ra: float,
    dec: float,
    shape: tuple[int, int],
    *,
    scale_arcsec: float,
    roll: float,
    cd: bool = False,
) -> None:
    """A TAN WCS centred on (ra, dec), rotated by `roll` degrees: PC+CDELT (JWST) or CD (HST)."""
    scale = scale_arcsec / 3600
    c, s = np.cos(np.radians(roll)), np.sin(np.radians(roll))
    header["WCSAXES"] = 2
    header["CRPIX1"] = (shape[1] + 1) / 2
    header["CRPIX2"] = (shape[0] + 1) / 2
    header["CRVAL1"] = ra
    header["CRVAL2"] = dec
    header["CTYPE1"] = "RA---TAN"
    header["CTYPE2"] = "DEC--TAN"
    header["CUNIT1"] = "deg"
    header["CUNIT2"] = "deg"
    if cd:
        header["CD1_1"], header["CD1_2"] = -scale * c, scale * s
        header["CD2_1"], header["CD2_2"] = scale * s, scale * c
    else:
        header["CDELT1"], header["CDELT2"] = scale, scale
        header["PC1_1"], header["PC1_2"] = -c, s
        header["PC2_1"], header["PC2_2"] = s, c
    header["RADESYS"] = "ICRS"


def _iso_date(mjd: float) -> tuple[str, str]:
    from astropy.time import Time

    iso = Time(mjd, format="mjd", scale="utc").isot
    date, _, clock = iso.partition("T")
    return date, clock


def _suffix(file_name: str) -> str:
    m = re.search(r"_([A-Za-z0-9]+)\.(?:fits|ecsv|fits\.gz)$", file_name)
    if not m:
        raise ValueError(f"{file_name}: no product suffix (<root>_<suffix>.fits or .ecsv)")
    return m.group(1).lower()


def _rng(name: str, seed: int | None) -> np.random.Generator:
    digest = hashlib.sha256(f"{seed or 0}:{name}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))
