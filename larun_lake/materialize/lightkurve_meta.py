"""lightkurve objects from materialized rows: the class, time format, flux unit and meta that
`lightkurve.read(...)` would have given, plus the lake's provenance (lc_id, file_sha256)."""

from __future__ import annotations

import logging
import warnings
from contextlib import contextmanager
from typing import Any

import numpy as np
import pyarrow as pa

from ..kinds import of_mission
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
        "BJDREFI": first["bjdrefi"],
        "BJDREFF": first["bjdreff"],
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
    else:
        meta.update(KEPMAG=first["kepmag"], CHANNEL=None)
    if options.normalize:
        meta["NORMALIZED"] = True
        meta["NORMALIZATION"] = [float(x) for x in norms]
    if options.bin_s:
        meta["BIN_S"] = options.bin_s
    if len(rows) > 1:
        meta["STITCHED"] = [r["lc_id"] for r in rows]
    return meta


def make_lightcurve(meta: dict[str, Any], table: pa.Table):  # -> lightkurve.LightCurve
    """A TessLightCurve or KeplerLightCurve with astropy Time in btjd/bkjd and flux with units."""
    with quiet_lightkurve():
        import astropy.units as u
        import lightkurve as lk
        from astropy.time import Time

        kind = of_mission(meta["MISSION"])
        cls = getattr(lk, kind.lightkurve_class)
        unit = (
            u.dimensionless_unscaled
            if meta.get("NORMALIZED")
            else u.Unit(_UNITS.get(meta["FLUX_UNIT"] or "", "electron / s"))
        )
        time = Time(table.column("time").to_numpy(), format=kind.time_format, scale="tdb")
        return cls(
            time=time,
            flux=table.column("flux").to_numpy() * unit,
            flux_err=table.column("flux_err").to_numpy() * unit,
            data={
                "quality": table.column("quality").to_numpy(),
                "cadenceno": table.column("cadenceno").to_numpy(),
            },
            meta=dict(meta),
        )


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
