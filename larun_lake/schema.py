"""Arrow schemas of the lake's data files, in one place (the catalog DDL lives in sql/migrations/).

Every cadence file has the same columns so that plain Parquet readers see one schema;
columns a product kind does not have are all-null (and cost nothing in Parquet).
The partition keys mission/author/period live in the folder names, not in the files.
"""

from __future__ import annotations

from functools import cache

import pyarrow as pa

F32, F64, I32, I64 = pa.float32(), pa.float64(), pa.int32(), pa.int64()

# (lake column, arrow type); order is the on-disk order.
CADENCE_COLUMNS: list[tuple[str, pa.DataType]] = [
    ("lc_id", pa.dictionary(pa.int32(), pa.string())),
    ("target_id", I64),
    ("time", F64),
    ("cadenceno", I32),
    ("flux", F32),
    ("flux_err", F32),
    ("quality", I32),
    ("timecorr", F32),
    ("sap_flux", F32),
    ("sap_flux_err", F32),
    ("sap_bkg", F32),
    ("sap_bkg_err", F32),
    ("psf_centr1", F64),
    ("psf_centr1_err", F32),
    ("psf_centr2", F64),
    ("psf_centr2_err", F32),
    ("mom_centr1", F64),
    ("mom_centr1_err", F32),
    ("mom_centr2", F64),
    ("mom_centr2_err", F32),
    ("pos_corr1", F32),
    ("pos_corr2", F32),
    # QLP
    ("kspsap_flux", F32),
    ("kspsap_flux_err", F32),
    ("kspsap_flux_sml", F32),
    ("kspsap_flux_lag", F32),
    ("det_flux", F32),
    ("det_flux_err", F32),
    ("det_flux_sml", F32),
    ("det_flux_lag", F32),
    ("sys_rm_flux", F32),
    ("orbitid", I32),
    ("sap_x", F32),
    ("sap_y", F32),
]

CADENCE_SCHEMA = pa.schema([pa.field(n, t) for n, t in CADENCE_COLUMNS])
CADENCE_TYPES = dict(CADENCE_COLUMNS)

# Float columns get BYTE_STREAM_SPLIT (measured: 3x faster writes and half the size of
# dictionary-encoded floats), integer columns DELTA_BINARY_PACKED (cadence numbers step by
# one: 50 kB a sector becomes almost nothing); only the id columns are dictionary-encoded.
FLOAT_COLUMNS = [n for n, t in CADENCE_COLUMNS if pa.types.is_floating(t)]
INTEGER_COLUMNS = [n for n, t in CADENCE_COLUMNS if pa.types.is_integer(t)]
COLUMN_ENCODINGS = {n: "BYTE_STREAM_SPLIT" for n in FLOAT_COLUMNS} | {n: "DELTA_BINARY_PACKED" for n in INTEGER_COLUMNS}
DICTIONARY_COLUMNS = ["lc_id"]
# Row-group statistics (min/max) are written for the columns queries filter on.
STATISTICS_COLUMNS = ["lc_id", "target_id", "time", "cadenceno", "quality"]

# Flux columns that readers may choose as `flux` for some product kind.
FLUX_CHOICES = (
    "flux",
    "sap_flux",
    "pdcsap_flux",
    "kspsap_flux",
    "kspsap_flux_sml",
    "kspsap_flux_lag",
    "det_flux",
    "det_flux_sml",
    "det_flux_lag",
    "sys_rm_flux",
    "sap_bkg",
)


@cache
def tic_columns() -> dict[str, pa.DataType]:
    """TIC column types as MAST declares them (sql/tic_columns.sql), whatever a batch of rows held."""
    import duckdb

    from .sqlfiles import load_sql

    con = duckdb.connect()
    try:
        con.execute(load_sql("tic_columns.sql"))
        return {f.name: f.type for f in con.sql("SELECT * FROM tic_columns").to_arrow_table().schema}
    finally:
        con.close()


# Extracted spectra (x1d, x1dsum, sx1): one row per wavelength bin of each order or segment.
# The partition keys mission/period live in the folder names.
SPECTRUM_COLUMNS: list[tuple[str, pa.DataType]] = [
    ("spec_id", pa.dictionary(pa.int32(), pa.string())),
    ("obs_id", pa.dictionary(pa.int32(), pa.string())),
    ("spectral_order", I32),  # JWST spectral order, or the row number of an HST segment/order
    ("segment", pa.dictionary(pa.int32(), pa.string())),  # HST COS 'FUVA', ...; STIS/JWST NULL
    ("wavelength", F64),
    ("flux", F64),
    ("flux_error", F64),
    ("dq", I64),
    ("surf_bright", F64),
    ("sb_error", F64),
    ("background", F64),
    ("net", F64),
    ("gross", F64),
    ("npixels", F64),
]
SPECTRUM_SCHEMA = pa.schema([pa.field(n, t) for n, t in SPECTRUM_COLUMNS])

# Spectral time series (x1dints): one row per wavelength bin of each integration and order.
SPECTRAL_TIMESERIES_COLUMNS: list[tuple[str, pa.DataType]] = [
    ("spec_id", pa.dictionary(pa.int32(), pa.string())),
    ("obs_id", pa.dictionary(pa.int32(), pa.string())),
    ("integration", I32),  # INT_NUM, 1-based as in the file
    ("time", F64),  # mid-integration BJD_TDB - 2400000.5 (the file's TDB-MID / int_mid_BJD_TDB)
    ("spectral_order", I32),
    ("wavelength", F64),
    ("flux", F64),
    ("flux_error", F64),
    ("dq", I64),
    ("surf_bright", F64),
    ("background", F64),
]
SPECTRAL_TIMESERIES_SCHEMA = pa.schema([pa.field(n, t) for n, t in SPECTRAL_TIMESERIES_COLUMNS])
