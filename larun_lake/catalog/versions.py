"""Light-curve versions and the data files that hold them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import duckdb
import pyarrow as pa

from ..sqlfiles import load_sql
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
    "exposure_d",
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
    "aperture",
    "n_aperture_pixels",
    "pixel_sha256",
    "target_name",
    "obs_id",
    "instrument",
    "spectral_order",
    "time_scale",
    "source_sha256",
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


@dataclass(frozen=True)
class StoredRows:
    """Where one version's rows sit in a data file."""

    lc_id: str
    file_sha256: str
    target_id: int
    data_file: str
    row_offset: int
    row_count: int


@contextmanager
def _registered(con: duckdb.DuckDBPyConnection, name: str, table: pa.Table) -> Iterator[None]:
    con.register(name, table)
    try:
        yield
    finally:
        con.unregister(name)


def supersede_many(con: duckdb.DuckDBPyConnection, retired: list[tuple[str, str, str]]) -> None:
    """Mark versions (lc_id, file_sha256, hash of the newer version) as superseded, in one statement."""
    if not retired:
        return
    lc_ids, shas, newer = zip(*retired, strict=True)
    table = pa.table({"lc_id": lc_ids, "file_sha256": shas, "superseded_by": newer})
    with _registered(con, "_retired_versions", table):
        con.execute(load_sql("catalog/supersede.sql"), {"at": now()})


def move_many(con: duckdb.DuckDBPyConnection, moves: list[tuple[str, str, str, int, int]]) -> None:
    """Point versions at their rows' new place, in one statement.

    moves: (lc_id, file_sha256, data_file, row_offset, row_count). An UPDATE per light curve
    made each merge of a partition's files cost as much as the light curves already in them.
    """
    if not moves:
        return
    lc_ids, shas, paths, offsets, counts = zip(*moves, strict=True)
    table = pa.table(
        {
            "lc_id": lc_ids,
            "file_sha256": shas,
            "data_file": paths,
            "row_offset": pa.array(offsets, pa.int64()),
            "row_count": pa.array(counts, pa.int64()),
        }
    )
    with _registered(con, "_moved_rows", table):
        con.execute(load_sql("catalog/move_rows.sql"))


def rows_in_files(con: duckdb.DuckDBPyConnection, paths: list[str]) -> list[StoredRows]:
    """The versions whose rows live in these data files, in file and row order."""
    if not paths:
        return []
    return [StoredRows(*r) for r in con.execute(load_sql("catalog/rows_in_files.sql"), {"paths": paths}).fetchall()]


def versions_of(con: duckdb.DuckDBPyConnection, shas: list[str]) -> dict[str, tuple[str, bool, str]]:
    """file_sha256 -> (lc_id, is_current, data_file) of the versions with these file hashes."""
    if not shas:
        return {}
    rows = con.execute(load_sql("catalog/versions_of_files.sql"), {"shas": shas}).fetchall()
    return {sha: (lc_id, bool(current), data_file) for sha, lc_id, current, data_file in rows}


def small_files(
    con: duckdb.DuckDBPyConnection, mission: str, author: str, period: str, *, below: int
) -> list[tuple[str, int, str]]:
    """(path, n_rows, run_id) of a partition's cadence files with fewer than `below` rows, smallest first."""
    params = {"mission": mission, "author": author, "period": period, "below": below}
    return con.execute(load_sql("catalog/small_files.sql"), params).fetchall()


def run_partitions(con: duckdb.DuckDBPyConnection, run_id: str) -> list[tuple[str, str, str]]:
    """(mission, author, period) of the partitions a run wrote cadence files to."""
    return con.execute(load_sql("catalog/run_partitions.sql"), {"run_id": run_id}).fetchall()


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


def register_files(con: duckdb.DuckDBPyConnection, rows: list[dict[str, Any]]) -> None:
    """Register data files (rows of data_files, by column name) in one statement."""
    if rows:
        with _registered(con, "_new_files", pa.Table.from_pylist(rows)):
            con.execute("INSERT INTO lake.data_files BY NAME SELECT * FROM _new_files")


def unregister_file(con: duckdb.DuckDBPyConnection, path: str) -> None:
    unregister_files(con, [path])


def unregister_files(con: duckdb.DuckDBPyConnection, paths: list[str]) -> None:
    con.execute("DELETE FROM lake.data_files WHERE path IN (SELECT unnest(?))", [paths])


def insert_many(con: duckdb.DuckDBPyConnection, rows: list[dict[str, Any]]) -> None:
    """Insert version rows in one statement (per-row INSERTs dominate commit time otherwise)."""
    if not rows:
        return
    with _registered(con, "_new_versions", pa.Table.from_pylist(rows)):
        con.execute("INSERT INTO lake.lightcurve_versions BY NAME SELECT * FROM _new_versions")
