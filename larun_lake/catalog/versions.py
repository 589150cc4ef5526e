"""Light-curve versions and the data files that hold them."""

from __future__ import annotations

from typing import Any

import duckdb
import pyarrow as pa

from .db import now

# Columns of lightcurve_versions that come from a reader's metadata record.
META_COLUMNS = (
    "lc_id",
    "file_sha256",
    "mission",
    "author",
    "target_id",
    "tic_id",
    "sector",
    "quarter",
    "campaign",
    "period",
    "segment",
    "exptime_s",
    "cadence_s",
    "n_cadences",
    "n_good",
    "time_start",
    "time_stop",
    "bjdrefi",
    "bjdreff",
    "ra",
    "dec",
    "tmag",
    "kepmag",
    "teff",
    "logg",
    "radius",
    "camera",
    "ccd",
    "procver",
    "data_rel",
    "filever",
    "file_date",
    "cdpp_0_5h",
    "cdpp_1h",
    "cdpp_2h",
    "flux_column",
    "flux_err_column",
    "flux_unit",
    "median_flux_none",
    "median_flux_default",
    "median_flux_hard",
    "median_flux_hardest",
    "dropped_columns",
    "checksum_ok",
    "file_name",
    "file_size",
)
VERSION_FIELDS = ("file_sha256", "data_rel", "procver", "filever", "file_date", "checksum_ok", "data_file")


def known_shas(con: duckdb.DuckDBPyConnection, among: list[str] | None = None) -> set[str]:
    """File hashes the lake holds: all of them, or those of `among` (a batch's files)."""
    if among is None:
        return {r[0] for r in con.execute("SELECT file_sha256 FROM lake.lightcurve_versions").fetchall()}
    return {r[0] for r in con.execute("SELECT file_sha256 FROM lake.lightcurve_versions "
                                      "WHERE file_sha256 IN (SELECT unnest(?))", [among]).fetchall()}

def current_versions(con: duckdb.DuckDBPyConnection, lc_ids: list[str]) -> dict[str, dict[str, Any]]:
    if not lc_ids:
        return {}
    rows = con.execute(
        f"SELECT lc_id, {', '.join(VERSION_FIELDS)} FROM lake.lightcurve_versions "
        "WHERE is_current AND lc_id IN (SELECT unnest(?))",
        [lc_ids],
    ).fetchall()
    return {r[0]: dict(zip(VERSION_FIELDS, r[1:], strict=True)) for r in rows}


def partition_files(con: duckdb.DuckDBPyConnection, mission: str, author: str, period: str) -> list[tuple[str, int]]:
    return con.execute(
        "SELECT path, n_rows FROM lake.data_files WHERE area = 'cadences' AND mission = ? AND author = ? "
        "AND period = ? ORDER BY n_rows",
        [mission, author, period],
    ).fetchall()


def supersede(con: duckdb.DuckDBPyConnection, lc_id: str, old_sha: str, new_sha: str) -> None:
    con.execute(
        "UPDATE lake.lightcurve_versions SET is_current = false, superseded_at = ?, superseded_by = ? "
        "WHERE lc_id = ? AND file_sha256 = ?",
        [now(), new_sha, lc_id, old_sha],
    )


def move_rows(
    con: duckdb.DuckDBPyConnection, lc_id: str, sha: str, data_file: str, row_offset: int, row_count: int
) -> None:
    con.execute(
        "UPDATE lake.lightcurve_versions SET data_file = ?, row_offset = ?, row_count = ? "
        "WHERE lc_id = ? AND file_sha256 = ?",
        [data_file, row_offset, row_count, lc_id, sha],
    )


def sha_in_file(con: duckdb.DuckDBPyConnection, data_file: str) -> dict[str, str]:
    """lc_id -> file_sha256 of the versions whose rows live in a data file."""
    return dict(
        con.execute(
            "SELECT lc_id, file_sha256 FROM lake.lightcurve_versions WHERE data_file = ?", [data_file]
        ).fetchall()
    )


def file_names(con: duckdb.DuckDBPyConnection, shas: list[str]) -> list[tuple[str, str, int, str]]:
    """(file_sha256, mission, target_id, file_name) of the versions with these file hashes."""
    return con.execute(
        "SELECT file_sha256, mission, target_id, file_name FROM lake.lightcurve_versions "
        "WHERE file_sha256 IN (SELECT unnest(?))",
        [shas],
    ).fetchall()


def set_file_name(con: duckdb.DuckDBPyConnection, sha: str, file_name: str, source_path: str) -> None:
    con.execute(
        "UPDATE lake.lightcurve_versions SET file_name = ?, source_path = ? WHERE file_sha256 = ?",
        [file_name, source_path, sha],
    )


def data_files_of(con: duckdb.DuckDBPyConnection, shas: list[str]) -> list[tuple]:
    """(path, area, mission, author, period, size_bytes, sha256) of the data files holding these versions."""
    return con.execute(
        "SELECT path, area, mission, author, period, size_bytes, sha256 FROM lake.data_files WHERE path IN "
        "(SELECT data_file FROM lake.lightcurve_versions WHERE file_sha256 IN (SELECT unnest(?))) ORDER BY path",
        [shas],
    ).fetchall()


def versions_in_file(con: duckdb.DuckDBPyConnection, data_file: str) -> list[tuple[str, str, int, str | None]]:
    """(lc_id, file_sha256, target_id, source_path) of the versions whose rows live in a data file."""
    return con.execute(
        "SELECT lc_id, file_sha256, target_id, source_path FROM lake.lightcurve_versions WHERE data_file = ? "
        "ORDER BY target_id, lc_id",
        [data_file],
    ).fetchall()


def register_file(
    con: duckdb.DuckDBPyConnection,
    path: str,
    *,
    area: str,
    mission: str | None,
    author: str | None,
    period: str | None,
    n_rows: int,
    n_lightcurves: int,
    size_bytes: int,
    sha256: str,
    run_id: str,
) -> None:
    con.execute(
        "INSERT INTO lake.data_files VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [path, area, mission, author, period, n_rows, n_lightcurves, size_bytes, sha256, now(), run_id],
    )


def unregister_file(con: duckdb.DuckDBPyConnection, path: str) -> None:
    con.execute("DELETE FROM lake.data_files WHERE path = ?", [path])


def lc_of_sha(con: duckdb.DuckDBPyConnection, sha: str) -> tuple[str | None, bool]:
    """(lc_id, is_current) of the version with this file hash."""
    rows = con.execute("SELECT lc_id, is_current FROM lake.lightcurve_versions WHERE file_sha256 = ?", [sha]).fetchall()
    return (rows[0][0], bool(rows[0][1])) if rows else (None, False)


def insert_many(con: duckdb.DuckDBPyConnection, rows: list[dict[str, Any]]) -> None:
    """Insert version rows in one statement (per-row INSERTs dominate commit time otherwise)."""
    if not rows:
        return
    table = pa.Table.from_pylist(rows)
    con.register("_new_versions", table)
    try:
        con.execute("INSERT INTO lake.lightcurve_versions BY NAME SELECT * FROM _new_versions")
    finally:
        con.unregister("_new_versions")
