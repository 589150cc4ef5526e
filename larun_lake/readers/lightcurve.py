"""Turn one light-curve FITS file into lake rows: per-cadence columns plus one metadata record.

One mapping per product kind; SPOC, TESS-SPOC, Kepler and K2 share the Ames layout.
`flux`/`flux_err` are the columns lightkurve uses by default for the kind, so that
"agrees with lightkurve" holds by construction. This is a pure function of the file,
so it can run in any worker process.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import ProductError
from ..layout import make_lc_id, period_key
from ..quality import PRESETS, bitmask_for
from ..schema import CADENCE_TYPES
from .detect import ProductKind, detect
from .fitsfile import FitsFile, open_fits

# FITS column -> lake column, for the Ames (SPOC/Kepler/K2) layout. PDCSAP becomes flux.
AMES_COLUMNS = {
    "TIME": "time",
    "TIMECORR": "timecorr",
    "CADENCENO": "cadenceno",
    "SAP_FLUX": "sap_flux",
    "SAP_FLUX_ERR": "sap_flux_err",
    "SAP_BKG": "sap_bkg",
    "SAP_BKG_ERR": "sap_bkg_err",
    "PDCSAP_FLUX": "flux",
    "PDCSAP_FLUX_ERR": "flux_err",
    "QUALITY": "quality",
    "SAP_QUALITY": "quality",
    "PSF_CENTR1": "psf_centr1",
    "PSF_CENTR1_ERR": "psf_centr1_err",
    "PSF_CENTR2": "psf_centr2",
    "PSF_CENTR2_ERR": "psf_centr2_err",
    "MOM_CENTR1": "mom_centr1",
    "MOM_CENTR1_ERR": "mom_centr1_err",
    "MOM_CENTR2": "mom_centr2",
    "MOM_CENTR2_ERR": "mom_centr2_err",
    "POS_CORR1": "pos_corr1",
    "POS_CORR2": "pos_corr2",
}
QLP_COLUMNS = {
    "TIME": "time",
    "CADENCENO": "cadenceno",
    "SAP_FLUX": "sap_flux",
    "QUALITY": "quality",
    "KSPSAP_FLUX": "kspsap_flux",
    "KSPSAP_FLUX_ERR": "kspsap_flux_err",
    "KSPSAP_FLUX_SML": "kspsap_flux_sml",
    "KSPSAP_FLUX_LAG": "kspsap_flux_lag",
    "DET_FLUX": "det_flux",
    "DET_FLUX_ERR": "det_flux_err",
    "DET_FLUX_SML": "det_flux_sml",
    "DET_FLUX_LAG": "det_flux_lag",
    "SYS_RM_FLUX": "sys_rm_flux",
    "ORBITID": "orbitid",
    "SAP_X": "sap_x",
    "SAP_Y": "sap_y",
    "SAP_BKG": "sap_bkg",
    "SAP_BKG_ERR": "sap_bkg_err",
}
PDCSAP_AUTHORS = ("SPOC", "TESS-SPOC", "Kepler", "K2")


@dataclass
class LightCurveData:
    """What ingest needs from one file: catalog metadata and the cadence columns."""

    meta: dict[str, Any]
    columns: dict[str, np.ndarray] = field(repr=False)

    @property
    def lc_id(self) -> str:
        return self.meta["lc_id"]

    @property
    def n_rows(self) -> int:
        return len(self.columns["time"])


def _int(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return int(str(value).strip())
    except ValueError:
        return None


# Header numbers must fit the catalog's columns (BIGINT ids, INTEGER elsewhere) and the
# period key's digits; a file with a value outside is that file's problem, not the batch's.
ID_RANGE = (1, 2**63 - 1)
INT32_RANGE = (-(2**31), 2**31 - 1)
PERIOD_RANGES = {"SECTOR": (1, 9999), "QUARTER": (0, 99), "CAMPAIGN": (0, 999)}


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


def read_lightcurve(path: str, *, ff: FitsFile | None = None) -> LightCurveData:
    """Read one light-curve file; raise ProductError (skipped/quarantined) when it is not ingestible."""
    ff = ff or open_fits(path)
    kind = detect(ff)
    primary = ff.hdus[0].header
    table_header = ff.hdus[kind.table_hdu].header
    name = str(ff.path)

    target_name = "TICID" if kind.mission == "TESS" else "KEPLERID"
    number_name = {"TESS": "SECTOR", "Kepler": "QUARTER", "K2": "CAMPAIGN"}[kind.mission]
    target_id = _ranged_int(primary, target_name, name, *ID_RANGE)
    number = _ranged_int(primary, number_name, name, *PERIOD_RANGES[number_name])
    if target_id is None:
        raise ProductError(name, f"no target id in the primary header ({target_name})")
    if number is None:
        raise ProductError(name, f"no {number_name} in the primary header")

    mapping = QLP_COLUMNS if kind.author == "QLP" else AMES_COLUMNS
    fits_names = [_column_names(ff, kind)]
    present = [c for c in fits_names[0] if c.upper() in mapping]
    if "TIME" not in {c.upper() for c in present}:
        raise ProductError(name, "light-curve table has no TIME column")
    rows = ff.table(kind.table_hdu)
    if len(rows) == 0:
        raise ProductError(name, "light-curve table has no cadences")

    columns: dict[str, np.ndarray] = {}
    for fits_name in present:
        lake_name = mapping[fits_name.upper()]
        columns[lake_name] = np.asarray(rows[fits_name]).astype(CADENCE_TYPES[lake_name].to_pandas_dtype())
    if kind.author == "QLP":
        # lightkurve's QLP reader: flux = SAP_FLUX, flux_err = KSPSAP_FLUX_ERR (DET_FLUX_ERR from sector 56)
        columns["flux"] = columns["sap_flux"]
        err_col = "det_flux_err" if number >= 56 else "kspsap_flux_err"
        if err_col not in columns:
            raise ProductError(name, f"QLP file lacks {err_col.upper()}")
        columns["flux_err"] = columns[err_col]
        flux_source, flux_err_source = "sap_flux", err_col
    else:
        if "flux" not in columns:
            raise ProductError(name, "light-curve table has no PDCSAP_FLUX column")
        flux_source, flux_err_source = "pdcsap_flux", "pdcsap_flux_err"
    n = len(rows)
    if "quality" not in columns:
        columns["quality"] = np.zeros(n, dtype=np.int32)
    if "cadenceno" not in columns:
        columns["cadenceno"] = np.arange(n, dtype=np.int32)

    period = period_key(kind.mission, number)
    segment = None
    if kind.mission == "Kepler" and kind.exptime_s == 60:
        segment = f"c{int(columns['cadenceno'][0])}"  # three short-cadence files per quarter
    lc_id = make_lc_id(kind.mission, kind.author, target_id, period, kind.exptime_s, segment)

    meta = _metadata(ff, kind, primary, table_header, target_id, number, period, segment, lc_id, columns)
    meta.update(
        flux_column=flux_source,
        flux_err_column=flux_err_source,
        dropped_columns=",".join(c for c in fits_names[0] if c.upper() not in mapping) or None,
    )
    return LightCurveData(meta, columns)


def _column_names(ff: FitsFile, kind: ProductKind) -> list[str]:
    header = ff.hdus[kind.table_hdu].header
    count = _int(header.get("TFIELDS")) or 0
    return [str(header.get(f"TTYPE{i}", "")).strip() for i in range(1, count + 1)]


def _version_tuple(text: str | None) -> str | None:
    return text


def _metadata(ff, kind, primary, table_header, target_id, number, period, segment, lc_id, columns) -> dict:
    time = columns["time"]
    flux = columns["flux"]
    quality = columns["quality"]
    finite = np.isfinite(time) & np.isfinite(flux)
    sector = number if kind.mission == "TESS" else None
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
    flux_unit = table_header.get(f"TUNIT{_flux_column_index(table_header, kind)}") if kind.author != "QLP" else None
    return {
        "lc_id": lc_id,
        "mission": kind.mission,
        "author": kind.author,
        "target_id": target_id,
        "tic_id": target_id if kind.mission == "TESS" else None,
        "sector": sector,
        "quarter": number if kind.mission == "Kepler" else None,
        "campaign": number if kind.mission == "K2" else None,
        "period": period,
        "segment": segment,
        "exptime_s": kind.exptime_s,
        "cadence_s": timedel * 86400.0,
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


def _flux_column_index(header: dict, kind: ProductKind) -> int:
    for i in range(1, (_int(header.get("TFIELDS")) or 0) + 1):
        if str(header.get(f"TTYPE{i}", "")).strip().upper() == "PDCSAP_FLUX":
            return i
    return 0


_VERSION_NUM = re.compile(r"\d+")


def version_key(meta: dict[str, Any]) -> tuple:
    """Order of versions of one lc_id: data release, then processing version, file version, file date."""
    procver = tuple(int(x) for x in _VERSION_NUM.findall(meta.get("procver") or ""))
    filever = tuple(int(x) for x in _VERSION_NUM.findall(meta.get("filever") or ""))
    return (meta.get("data_rel") or -1, procver, filever, meta.get("file_date") or "")
