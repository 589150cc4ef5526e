"""lightkurve objects from materialized rows: the class, time format, flux unit and meta that
`lightkurve.read(...)` would have given, plus the lake's provenance (lc_id, file_sha256)."""

from __future__ import annotations

import logging
import warnings
from contextlib import contextmanager
from typing import Any

import numpy as np
import pyarrow as pa

from ..kinds import missions, of_mission
from .lightkurve_columns import NORMALIZED_AUTHORS
from .options import MaterializeOptions

# lightkurve spells e-/s as electron/s (io/generic.py does the same rename when it reads a file).
_UNITS = {"e-/s": "electron / s", "electron/s": "electron / s", "": ""}


def unit_label(rows: list[dict[str, Any]]) -> str:
    """The id of a yielded light curve: its lc_id, or the lc_ids of a stitched series joined by '+'."""
    return "+".join(r["lc_id"] for r in rows)


def lightkurve_meta(rows: list[dict[str, Any]], options: MaterializeOptions, norms: np.ndarray) -> dict[str, Any]:
    """lightkurve-style meta of one unit (the first light curve's, as lightkurve's stitch keeps)."""
    first = rows[0]
    mission = first["mission"]
    if first["target_id"] is None or mission not in missions():
        return _observatory_meta(rows, options, norms)
    target = int(first["target_id"])
    kind = of_mission(mission)  # target and period naming are the same for all kinds of a mission
    meta: dict[str, Any] = {
        "TARGETID": target,
        "OBJECT": f"{kind.target_prefix} {target}",
        "LABEL": f"{kind.target_prefix} {target}",
        "MISSION": mission,
        "TELESCOP": kind.telescope,
        kind.period_keyword: first[kind.period_column],
        "AUTHOR": first["author"],
        "FLUX_ORIGIN": options.flux_origin or first["flux_column"],
        "QUALITY_BITMASK": options.quality,
        "EXPOSURE_S": first["exptime_s"],
        "EXPOSURE": first.get("exposure_d"),  # days of live time over the file, as the header says
        "TIMEDEL": _timedel(first),
        "BJDREFI": first["bjdrefi"],
        "BJDREFF": first["bjdreff"],
        "TIMESYS": "TDB",
        "RA": first["ra"],
        "DEC": first["dec"],
        "RA_OBJ": first["ra"],
        "DEC_OBJ": first["dec"],
        "TEFF": first["teff"],
        "LOGG": first["logg"],
        "RADIUS": first["radius"],
        "FLUX_UNIT": first["flux_unit"],
        "LC_ID": unit_label(rows),
        "FILE_SHA256": ",".join(r["file_sha256"] for r in rows),
        "DATA_REL": first["data_rel"],
        "PROCVER": first["procver"],
        "FILENAME": first["file_name"],
    }
    meta[kind.target_keyword] = target
    if kind.telescope == "TESS":
        meta.update(TESSMAG=first["tmag"], CAMERA=first["camera"], CCD=first["ccd"])
        meta.update(CDPP0_5=first.get("cdpp_0_5h"), CDPP1_0=first.get("cdpp_1h"), CDPP2_0=first.get("cdpp_2h"))
    else:
        meta.update(KEPMAG=first["kepmag"], CHANNEL=None)
    if first["author"] in NORMALIZED_AUTHORS:  # as lightkurve's reader says of QLP's fluxes
        meta["NORMALIZED"] = True
    return _common_meta(meta, rows, options, norms)


def _timedel(row: dict[str, Any]) -> float | None:
    """The cadence spacing in days, as the file's TIMEDEL."""
    cadence = row.get("cadence_s")
    return cadence / 86400.0 if cadence else None


def _common_meta(meta: dict[str, Any], rows: list[dict[str, Any]], options: MaterializeOptions,
                 norms: np.ndarray) -> dict[str, Any]:  # fmt: skip
    if options.normalize:
        meta["NORMALIZED"] = True
        meta["NORMALIZATION"] = [float(x) for x in norms]
    if options.bin_s:
        meta["BIN_S"] = options.bin_s
    if len(rows) > 1:
        meta["STITCHED"] = [r["lc_id"] for r in rows]
    return meta


def _observatory_meta(rows: list[dict[str, Any]], options: MaterializeOptions, norms: np.ndarray) -> dict[str, Any]:
    """A light curve of a named target (JWST white-light curve, ...): no mission kind, times in BJD_TDB."""
    first = rows[0]
    name = first.get("target_name") or first["lc_id"]
    meta: dict[str, Any] = {
        "OBJECT": name,
        "LABEL": name,
        "TARGETID": first["target_id"],
        "MISSION": first["mission"],
        "TELESCOP": first["mission"],
        "INSTRUME": first.get("instrument"),
        "AUTHOR": first["author"],
        "FLUX_ORIGIN": options.flux_origin or first["flux_column"],
        "QUALITY_BITMASK": options.quality,
        "EXPOSURE_S": first["exptime_s"],
        "TIMEDEL": _timedel(first),
        "BJDREFI": first["bjdrefi"],
        "BJDREFF": first["bjdreff"],
        "TIMESYS": first.get("time_scale") or "BJD_TDB",
        "RA": first["ra"],
        "DEC": first["dec"],
        "FLUX_UNIT": first["flux_unit"],
        "LC_ID": unit_label(rows),
        "FILE_SHA256": ",".join(r["file_sha256"] for r in rows),
        "PROCVER": first["procver"],
        "FILENAME": first["file_name"],
    }
    return _common_meta(meta, rows, options, norms)


def make_lightcurve(meta: dict[str, Any], table: pa.Table | None = None, *,
                    columns: dict[str, Any] | None = None):  # fmt: skip  # -> lightkurve.LightCurve
    """A TessLightCurve or KeplerLightCurve with astropy Time in btjd/bkjd and flux with units.

    From the long-form rows of a set (`table`), or from `columns` (see lightkurve_columns.py): time, flux
    and flux_err as plain arrays, then every other column, units attached."""
    if columns is None:
        columns = {n: table.column(n).to_numpy() for n in ("time", "flux", "flux_err", "quality", "cadenceno")}
    with quiet_lightkurve():
        import astropy.units as u
        import lightkurve as lk
        from astropy.time import Time

        kind = of_mission(meta["MISSION"]) if meta["MISSION"] in missions() else None
        cls = getattr(lk, kind.lightkurve_class) if kind else lk.LightCurve
        unit = u.dimensionless_unscaled if meta.get("NORMALIZED") else _flux_unit(meta["FLUX_UNIT"], kind is None)
        values = columns["time"]
        if kind is not None:
            time = Time(values, format=kind.time_format, scale="tdb")
        else:  # time + BJDREFI + BJDREFF is the BJD in TDB
            time = Time(values + meta["BJDREFI"], meta["BJDREFF"] or 0.0, format="jd", scale="tdb")
        return cls(
            time=time,
            flux=columns["flux"] * unit,
            flux_err=columns["flux_err"] * unit,
            data={n: v for n, v in columns.items() if n not in ("time", "flux", "flux_err")},
            meta=dict(meta),
        )


def _flux_unit(text: str | None, named_target: bool):
    """The unit of the lake's flux_unit text; the missions' own files say e-/s in lightkurve's spelling."""
    import astropy.units as u

    text = text or ""
    if not named_target:
        return u.Unit(_UNITS.get(text, "electron / s"))
    try:  # JWST and HST write astropy-readable units (Jy, MJy/sr, DN/s, erg/s/cm2/A)
        return u.Unit(_UNITS.get(text, text))
    except ValueError:
        return u.dimensionless_unscaled


@contextmanager
def quiet_lightkurve():
    """lightkurve warns at import about optional extras and logs None header values in to_fits."""
    log = logging.getLogger("lightkurve")
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        log.setLevel(level)
