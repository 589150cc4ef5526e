"""JWST white-light curves (whtlt) and TSO imaging photometry (phot) into light curves.

Both are ECSV tables with one row per integration, written by the calwebb_tso3 steps
white_light and tso_photometry. A white-light table has one flux column per spectral order
(`whitelight_flux_order_<n>`, or `whitelight_flux` when there is one order; NIRSpec adds the
detector as a last `_<detector>` part, with a time column per detector). Times are taken from
the BJD_TDB column (MJD form, so bjdrefi + bjdreff = 2400000.5); older files with only UTC times
are refused, since turning UTC into barycentric time needs the spacecraft's ephemeris.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from ..kinds.base import LightCurveData
from ..quality import PRESETS
from ..schema import CADENCE_TYPES
from .obsfile import MJD_BJDREFF, MJD_BJDREFI, TIME_SCALE, ProductBytes, period_of, read_product_bytes, text

MISSION = "JWST"
AUTHOR = "JWST"  # the STScI pipeline
_PROGRAM = re.compile(r"^jw(?P<program>\d{5})", re.IGNORECASE)
_WHITELIGHT = re.compile(r"^whitelight_flux(?:_order_(?P<order>-?\d+))?(?:_(?P<detector>[A-Za-z0-9]+))?$")
_BJD_COLUMNS = ("BJD_TDB", "int_mid_BJD_TDB")
_UTC_COLUMNS = ("MJD_UTC", "int_mid_MJD_UTC", "MJD")
IMAGING_ORDER = 0  # TSO imaging photometry is undispersed: the lc_id's order part is 0
# tso_photometry columns kept beside flux/flux_err, under the lake's names for the same quantities
PHOT_EXTRAS = {
    "aperture_bkg": "sap_bkg",
    "aperture_bkg_err": "sap_bkg_err",
    "centroid_x": "mom_centr1",
    "centroid_y": "mom_centr2",
}


def read_whitelight(path: Path) -> list[LightCurveData]:
    product = read_product_bytes(path)
    table = _read_ecsv(product)
    program = _PROGRAM.match(product.name)
    if program is None:
        raise product.fail("not a JWST product name (jw<program>...): no proposal id for its period")
    period = period_of(program.group("program"), product)
    if product.suffix == "phot":
        curves = [_phot_curve(table, product)]
    elif product.suffix == "whtlt":
        curves = _whitelight_curves(table, product)
    else:
        raise product.fail(f"not a white-light or photometry table (suffix {product.suffix})")
    out = []
    for spec in curves:
        out.append(_lightcurve(table, product, period, **spec))
    return out


def _read_ecsv(product: ProductBytes):
    from astropy.table import Table

    if not product.data.lstrip().startswith(b"# %ECSV"):
        raise product.fail("not an ECSV table (no '# %ECSV' header line)")
    if not product.data.endswith(b"\n"):  # astropy reads a row cut mid-number as a shorter number
        raise product.fail("truncated ECSV table (the last line is incomplete)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            table = Table.read(product.data.decode("utf-8").splitlines(), format="ascii.ecsv")
    except Exception as exc:  # astropy raises many kinds of errors on damaged tables
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise product.fail(f"unreadable ECSV table ({first})") from exc
    if len(table) == 0:
        raise product.fail("ECSV table has no rows")
    return table


def _time_column(table, product: ProductBytes, detector: str | None = None) -> str:
    tail = f"_{detector}" if detector else ""
    for name in _BJD_COLUMNS:
        if name + tail in table.colnames:
            return name + tail
    if any(name + tail in table.colnames for name in _UTC_COLUMNS):
        raise product.fail("times are UTC only (no BJD_TDB column): reprocess with a pipeline that writes BJD_TDB")
    raise product.fail("no time column (BJD_TDB)")


def _whitelight_curves(table, product: ProductBytes) -> list[dict]:
    curves = []
    for name in table.colnames:
        m = _WHITELIGHT.match(name)
        if m is None:
            continue
        order = int(m.group("order")) if m.group("order") else 1  # one order: the step drops its number
        detector = m.group("detector")
        curves.append(
            {
                "flux_column": name,
                "flux_err_column": None,
                "order": order,
                "detector": detector,
                "time_column": _time_column(table, product, detector),
            }
        )
    if not curves:
        raise product.fail("no whitelight_flux column: not a white-light curve")
    several_detectors = len({c["detector"] for c in curves}) > 1 or any(c["detector"] for c in curves)
    for c in curves:
        c["id_part"] = f"{c['order']}:{c['detector']}" if several_detectors and c["detector"] else str(c["order"])
    return curves


def _phot_curve(table, product: ProductBytes) -> dict:
    for column in ("net_aperture_sum", "net_aperture_sum_err"):
        if column not in table.colnames:
            raise product.fail(f"no {column} column: not a TSO photometry table")
    return {
        "flux_column": "net_aperture_sum",
        "flux_err_column": "net_aperture_sum_err",
        "order": None,
        "detector": None,
        "time_column": _time_column(table, product),
        "id_part": str(IMAGING_ORDER),
    }


def _lightcurve(
    table,
    product: ProductBytes,
    period: str,
    *,
    flux_column: str,
    flux_err_column: str | None,
    order: int | None,
    detector: str | None,
    time_column: str,
    id_part: str,
) -> LightCurveData:
    n = len(table)
    time = _values(table[time_column], "time")
    flux = _values(table[flux_column], "flux")
    columns: dict[str, np.ndarray] = {
        "time": time,
        "cadenceno": np.arange(1, n + 1, dtype=np.int32),  # one row per integration, in order
        "flux": flux,
        "flux_err": _values(table[flux_err_column], "flux_err") if flux_err_column else np.full(n, np.nan, np.float32),
        "quality": np.zeros(n, dtype=np.int32),
    }
    kept = {time_column, flux_column, flux_err_column}
    if product.suffix == "phot":
        for source, lake in PHOT_EXTRAS.items():
            if source in table.colnames:
                columns[lake] = _values(table[source], lake)
                kept.add(source)
    finite_time = time[np.isfinite(time)]
    spacing = float(np.median(np.diff(np.sort(finite_time)))) * 86400.0 if finite_time.size > 1 else None
    good = np.isfinite(time) & np.isfinite(flux)
    median = float(np.nanmedian(flux)) if np.isfinite(flux).any() else None
    obs_id = product.stem
    meta_in = table.meta
    other_flux = [c for c in table.colnames if _WHITELIGHT.match(c)] if product.suffix == "whtlt" else []
    dropped = [
        c
        for c in table.colnames
        if c not in kept
        and c not in other_flux
        and c not in _BJD_COLUMNS
        and c not in _UTC_COLUMNS
        and not c.startswith(("BJD_TDB_", "MJD_UTC_"))
    ]
    meta: dict[str, Any] = {
        "lc_id": f"{MISSION}:{AUTHOR}:{obs_id}:{id_part}",
        "mission": MISSION,
        "author": AUTHOR,
        "target_id": None,
        "tic_id": None,
        "sector": None,
        "quarter": None,
        "campaign": None,
        "period": period,
        "segment": None,
        "exptime_s": round(spacing) if spacing else None,  # the files carry no integration time: spacing
        "cadence_s": spacing,
        "exposure_d": None,
        "n_cadences": n,
        "n_good": int(np.count_nonzero(good)),
        "time_start": float(finite_time.min()) if finite_time.size else None,
        "time_stop": float(finite_time.max()) if finite_time.size else None,
        "bjdrefi": MJD_BJDREFI,
        "bjdreff": MJD_BJDREFF,
        "ra": _median_of(table, "aperture_ra_icrs"),
        "dec": _median_of(table, "aperture_dec_icrs"),
        "tmag": None,
        "kepmag": None,
        "teff": None,
        "logg": None,
        "radius": None,
        "camera": None,
        "ccd": None,
        "procver": None,
        "data_rel": None,
        "filever": None,
        "file_date": None,
        "cdpp_0_5h": None,
        "cdpp_1h": None,
        "cdpp_2h": None,
        "flux_column": flux_column,
        "flux_err_column": flux_err_column,
        "flux_unit": _unit(table[flux_column]),
        "dropped_columns": ",".join(dropped) or None,
        "checksum_ok": None,  # ECSV carries no checksum
        "target_name": text(meta_in.get("target_name")),
        "obs_id": obs_id,
        "instrument": text(meta_in.get("instrument")),
        "spectral_order": order,
        "time_scale": TIME_SCALE,
        **{f"median_flux_{preset}": median for preset in PRESETS},  # no quality flags: one median
        **product.identity(),
    }
    return LightCurveData(meta, columns)


def _values(column, lake: str) -> np.ndarray:
    values = getattr(column, "value", column)  # a Quantity's numbers, in the file's unit
    return np.asarray(values, dtype=np.float64).astype(CADENCE_TYPES[lake].to_pandas_dtype())


def _unit(column) -> str | None:
    unit = getattr(column, "unit", None)
    return None if unit is None else unit.to_string()


def _median_of(table, name: str) -> float | None:
    if name not in table.colnames:
        return None
    values = np.asarray(getattr(table[name], "value", table[name]), dtype=np.float64)
    return float(np.nanmedian(values)) if np.isfinite(values).any() else None
