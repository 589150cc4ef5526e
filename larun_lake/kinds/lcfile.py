"""Reading a light-curve FITS file into lake rows, shared by every light-curve kind.

A kind supplies the facts (column map, flux pair, period and target keywords); this module turns
one file into per-cadence columns plus one metadata record. `flux`/`flux_err` are the columns
lightkurve uses by default for the kind, so that "agrees with lightkurve" holds by construction.
It is a pure function of the file, so it can run in any worker process.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ..errors import ProductError
from ..layout import make_lc_id, period_key
from ..quality import PRESETS, bitmask_for
from ..readers.fitsfile import HDU, FitsFile
from ..schema import CADENCE_TYPES
from .base import Kind, LightCurveData

# Header numbers must fit the catalog's columns (BIGINT ids, INTEGER elsewhere) and the
# period key's digits; a file with a value outside is that file's problem, not the batch's.
ID_RANGE = (1, 2**63 - 1)
INT32_RANGE = (-(2**31), 2**31 - 1)


def lightcurve_table(ff: FitsFile) -> HDU:
    """The table extension named LIGHTCURVE, else the first table."""
    tables = [h for h in ff.hdus[1:] if h.kind == "table"]
    return next((h for h in tables if h.header.get("EXTNAME") == "LIGHTCURVE"), tables[0])


def cadence_seconds(ff: FitsFile) -> float:
    """The light-curve table's spacing (TIMEDEL) in seconds."""
    timedel = lightcurve_table(ff).header.get("TIMEDEL")
    if not isinstance(timedel, float | int) or timedel <= 0:
        raise ProductError(str(ff.path), "light-curve table has no TIMEDEL: cannot tell the cadence")
    return float(timedel) * 86400.0


def read_lightcurve_file(kind: Kind, ff: FitsFile) -> LightCurveData:
    """Read one light-curve file of `kind`; ProductError (quarantined) when it cannot be ingested."""
    name = str(ff.path)
    table = lightcurve_table(ff)
    exptime = kind.nominal_exptime(cadence_seconds(ff))
    primary = ff.hdus[0].header

    target_id = _ranged_int(primary, kind.target_keyword, name, *ID_RANGE)
    number = _ranged_int(primary, kind.period_keyword, name, *kind.period_range)
    if target_id is None:
        raise ProductError(name, f"no target id in the primary header ({kind.target_keyword})")
    if number is None:
        raise ProductError(name, f"no {kind.period_keyword} in the primary header")

    fits_names = _column_names(table.header)
    present = [c for c in fits_names if c.upper() in kind.columns]
    if "TIME" not in {c.upper() for c in present}:
        raise ProductError(name, "light-curve table has no TIME column")
    rows = ff.table(table.index)
    if len(rows) == 0:
        raise ProductError(name, "light-curve table has no cadences")

    columns: dict[str, np.ndarray] = {}
    for fits_name in present:
        lake_name = kind.columns[fits_name.upper()]
        columns[lake_name] = np.asarray(rows[fits_name]).astype(CADENCE_TYPES[lake_name].to_pandas_dtype())
    flux_source, flux_err_source = _flux_pair(kind, columns, number, name)
    n = len(rows)
    if "quality" not in columns:
        columns["quality"] = np.zeros(n, dtype=np.int32)
    if "cadenceno" not in columns:
        columns["cadenceno"] = np.arange(n, dtype=np.int32)

    period = period_key(kind.mission, number)
    segment = None
    if exptime in kind.segment_exptimes:
        segment = f"c{int(columns['cadenceno'][0])}"  # e.g. Kepler's three short-cadence files per quarter
    lc_id = make_lc_id(kind.mission, kind.author, target_id, period, exptime, segment)

    meta = _metadata(ff, kind, table.header, exptime, target_id, number, period, segment, lc_id, columns)
    meta.update(
        flux_column=flux_source.lower(),
        flux_err_column=flux_err_source.lower(),
        dropped_columns=",".join(c for c in fits_names if c.upper() not in kind.columns) or None,
    )
    return LightCurveData(meta, columns)


def _flux_pair(kind: Kind, columns: dict[str, np.ndarray], number: int, name: str) -> tuple[str, str]:
    """Fill `flux`/`flux_err` from the kind's default pair; returns the pair's FITS names.

    A kind whose map stores the pair as flux/flux_err directly (PDCSAP) may lack the error column
    (its errors are null, as lightkurve reads them); a pair kept under its own names is copied,
    and a missing error column then refuses the file.
    """
    flux_source, flux_err_source = kind.flux_sources(number)
    if "flux" not in columns and kind.columns.get(flux_source) in columns:
        columns["flux"] = columns[kind.columns[flux_source]]
    if "flux" not in columns:
        raise ProductError(name, f"light-curve table has no {flux_source} column")
    if kind.columns.get(flux_err_source) != "flux_err":
        stored = kind.columns.get(flux_err_source)
        if stored not in columns:
            raise ProductError(name, f"{kind.author} file lacks {flux_err_source}")
        columns["flux_err"] = columns[stored]
    return flux_source, flux_err_source


def _column_names(header: dict) -> list[str]:
    count = _int(header.get("TFIELDS")) or 0
    return [str(header.get(f"TTYPE{i}", "")).strip() for i in range(1, count + 1)]


def _metadata(ff, kind, table_header, exptime, target_id, number, period, segment, lc_id, columns) -> dict:
    primary = ff.hdus[0].header
    time = columns["time"]
    flux = columns["flux"]
    quality = columns["quality"]
    finite = np.isfinite(time) & np.isfinite(flux)
    sector = number if kind.period_column == "sector" else None
    medians = {}
    n_good = 0
    for preset in PRESETS:
        mask = bitmask_for(kind.mission, kind.author, preset, sector)
        keep = np.isfinite(time) & ((quality & mask) == 0)
        medians[f"median_flux_{preset}"] = _median(flux[keep])
        if preset == "default":
            n_good = int(np.count_nonzero(keep & finite))
    name = str(ff.path)
    timedel = float(table_header.get("TIMEDEL"))
    flux_unit = kind.flux_unit or table_header.get(f"TUNIT{_column_index(table_header, kind.flux_column)}")
    return {
        "lc_id": lc_id,
        "mission": kind.mission,
        "author": kind.author,
        "target_id": target_id,
        "tic_id": target_id if kind.target_keyword == "TICID" else None,
        "sector": sector,
        "quarter": number if kind.period_column == "quarter" else None,
        "campaign": number if kind.period_column == "campaign" else None,
        "period": period,
        "segment": segment,
        "exptime_s": exptime,
        "cadence_s": timedel * 86400.0,
        "exposure_d": _float(table_header.get("EXPOSURE")),
        "n_cadences": len(time),
        "n_good": n_good,
        "time_start": _float(np.nanmin(time)) if np.isfinite(time).any() else None,
        "time_stop": _float(np.nanmax(time)) if np.isfinite(time).any() else None,
        "bjdrefi": _ranged_int(table_header, "BJDREFI", name, *INT32_RANGE),
        "bjdreff": _float(table_header.get("BJDREFF")) or 0.0,
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
        "cdpp_0_5h": _float(table_header.get("CDPP0_5")),
        "cdpp_1h": _float(table_header.get("CDPP1_0")),
        "cdpp_2h": _float(table_header.get("CDPP2_0")),
        "flux_unit": _str(flux_unit) or "e-/s",
        "checksum_ok": ff.checksum_ok,
        "file_name": ff.path.name,
        "file_size": ff.size_bytes,
        "file_sha256": ff.sha256,
        **medians,
    }


def _column_index(header: dict, column: str) -> int:
    for i in range(1, (_int(header.get("TFIELDS")) or 0) + 1):
        if str(header.get(f"TTYPE{i}", "")).strip().upper() == column:
            return i
    return 0


# --- header values ---------------------------------------------------------------------------


def _int(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return int(str(value).strip())
    except ValueError:
        return None


def _ranged_int(header: dict, keyword: str, name: str, low: int, high: int) -> int | None:
    """An integer header value, or None when absent; ProductError naming it when out of range."""
    value = _int(header.get(keyword))
    if value is not None and not low <= value <= high:
        raise ProductError(name, f"{keyword} = {value} is out of range ({low} to {high})")
    return value


def _float(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if np.isfinite(out) else None


def _str(value: Any) -> str | None:
    return str(value).strip() or None if value is not None else None


def _median(values: np.ndarray) -> float | None:
    if values.size == 0:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        med = np.nanmedian(values)  # same dtype arithmetic as lightkurve's normalize()
    return float(med) if np.isfinite(med) else None
