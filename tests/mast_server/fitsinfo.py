"""What a light-curve or target-pixel FITS file says about itself, read from its headers."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from astropy.io import fits
from astropy.time import Time

CADENCES = (20.0, 60.0, 120.0, 200.0, 600.0, 1800.0)
_DEFAULT_BJDREF = {"TESS": 2457000.0, "Kepler": 2454833.0, "K2": 2454833.0}
_TIME_COLUMNS = {"time", "t"}  # "T" is K2SFF's


@dataclass
class FileInfo:
    """What the catalog needs to know about one light-curve or target pixel file."""

    path: Path
    mission: str  # TESS | Kepler | K2
    hlsp: str | None  # lower-case HLSP name; None for mission pipeline products
    provenance: str
    target_id: int
    season: int | None  # TESS sector, Kepler quarter or K2 campaign
    exptime: float  # seconds, snapped to a standard cadence
    ra: float | None
    dec: float | None
    t_min: float | None  # MJD
    t_max: float | None
    source_name: str
    filename: str = ""  # productFilename as served; derived when empty
    procver: str | None = None
    kind: str = "lc"  # "lc" light curve, "tp" target pixel file


def _first(headers: Iterable[fits.Header], key: str) -> Any:
    for header in headers:
        value = header.get(key)
        if value is not None and value != "":
            return value
    return None


def _data_header(hdul: fits.HDUList) -> tuple[str, fits.Header]:
    """("lc" or "tp", header of the extension with the time series).

    A target pixel file has a PIXELS (TESS) or TARGETTABLES (Kepler/K2) table, or was
    written by the pipeline's target-pixel exporter (the truncated K2 fixture keeps only
    one cadence as an image, but its headers are those of a real TPF).
    """
    names = {hdu.name.upper() for hdu in hdul}
    creator = str(hdul[0].header.get("CREATOR") or "")
    if names & {"PIXELS", "TARGETTABLES"} or "TargetPixelExporter" in creator:
        return "tp", hdul[1].header if len(hdul) > 1 else hdul[0].header
    for hdu in hdul[1:]:
        if isinstance(hdu, fits.BinTableHDU) and any(c.name.lower() in _TIME_COLUMNS for c in hdu.columns):
            return "lc", hdu.header
    raise ValueError("no table extension with a time column")


def _snap_cadence(seconds: float) -> float:
    return min(CADENCES, key=lambda c: abs(c - seconds))


def read_file_info(path: str | Path) -> FileInfo:
    """Parse the headers of one light-curve or target pixel file; ValueError if it is neither."""
    path = Path(path)
    with fits.open(path, memmap=False) as hdul:
        primary = hdul[0].header
        kind, table = _data_header(hdul)
        headers = (table, primary)
        mission_raw = str(_first((primary,), "MISSION") or _first((primary,), "TELESCOP") or "").strip()
        mission = {"tess": "TESS", "kepler": "Kepler", "k2": "K2"}.get(mission_raw.lower())
        if mission is None:
            raise ValueError(f"unknown mission {mission_raw!r}")
        target_raw = _first((primary,), "TICID" if mission == "TESS" else "KEPLERID")
        if target_raw is None:
            match = re.match(r"\s*(?:TIC|KIC|EPIC)\s*(\d+)", str(primary.get("OBJECT", "")))
            if not match:
                raise ValueError("no target id in the headers")
            target_raw = match.group(1)
        target_id = int(str(target_raw).strip())
        name = path.name
        origin = str(primary.get("ORIGIN") or "")
        hlsp = None
        if name.lower().startswith("hlsp_"):
            hlsp = name.lower().split("_")[1]
        elif mission == "TESS" and origin and "nasa/ames" not in origin.lower():
            hlsp = origin.split("/")[-1].lower()
        season_key = {"TESS": "SECTOR", "Kepler": "QUARTER", "K2": "CAMPAIGN"}[mission]
        season = _first(headers, season_key)
        timedel = _first(headers, "TIMEDEL")
        if timedel is not None:
            exptime = _snap_cadence(float(timedel) * 86400.0)
        elif mission != "TESS":
            exptime = 60.0 if "short" in str(primary.get("OBSMODE", "")).lower() else 1800.0
        else:
            exptime = 1800.0 if hlsp else 120.0
        bjdref = _first(headers, "BJDREFI")
        bjdref = (
            float(bjdref) + float(_first(headers, "BJDREFF") or 0.0) if bjdref is not None else _DEFAULT_BJDREF[mission]
        )
        tstart, tstop = _first(headers, "TSTART"), _first(headers, "TSTOP")
        ra, dec = _first((primary,), "RA_OBJ"), _first((primary,), "DEC_OBJ")
        procver = _first(headers, "PROCVER")
        return FileInfo(
            path=path,
            mission=mission,
            hlsp=hlsp,
            provenance=hlsp.upper() if hlsp else {"TESS": "SPOC"}.get(mission, mission),
            target_id=target_id,
            season=int(season) if season is not None else None,
            exptime=exptime,
            ra=float(ra) if ra is not None else None,
            dec=float(dec) if dec is not None else None,
            t_min=float(tstart) + bjdref - 2400000.5 if tstart is not None else None,
            t_max=float(tstop) + bjdref - 2400000.5 if tstop is not None else None,
            source_name=name,
            procver=str(procver) if procver is not None else None,
            kind=kind,
        )


def _stamp(mjd: float | None) -> str:
    if mjd is None:
        return "0" * 13
    return Time(mjd, format="mjd").datetime.strftime("%Y%j%H%M%S")


def mission_filename(info: FileInfo, partner: str | None = None) -> str:
    """MAST's file name for a mission product; keeps the stamp of a MAST-named source file.

    ``partner`` is the served name of the light curve a TESS target pixel file goes with:
    MAST names both alike, ``..._lc.fits`` and ``..._tp.fits``.
    """
    name = info.source_name
    if info.hlsp:
        return name
    if info.mission == "TESS":
        if info.kind == "tp" and partner:
            return re.sub(r"lc\.fits$", "tp.fits", partner)
        match = re.match(r"^tess(\d{13})-s\d{4}-\d{16}-(\d{4})-", name)
        stamp, scid = match.groups() if match else (_stamp(info.t_min), "0000")
        tail = "a_fast-" if info.exptime < 60 else "s_"
        return f"tess{stamp}-s{info.season or 0:04d}-{info.target_id:016d}-{scid}-{tail}{info.kind}.fits"
    short = info.exptime < 200
    kind = ("spd-targ" if short else "lpd-targ") if info.kind == "tp" else ("slc" if short else "llc")
    ext = ".fits.gz" if info.kind == "tp" else ".fits"
    if info.mission == "Kepler":
        match = re.match(r"^kplr\d{9}-(\d{13})_", name)
        stamp = match.group(1) if match else _stamp(info.t_min)
        return f"kplr{info.target_id:09d}-{stamp}_{kind}{ext}"
    return f"ktwo{info.target_id:09d}-c{info.season or 0:02d}_{kind}{ext}"
