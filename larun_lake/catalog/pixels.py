"""The `pixel_file_versions` table: target pixel files and TESScut cutouts kept in the raw area."""

from __future__ import annotations

from typing import Any

import duckdb
import pyarrow as pa

from .db import now


def insert_many(con: duckdb.DuckDBPyConnection, rows: list[dict[str, Any]], run_id: str) -> None:
    """Record pixel files in one statement; a file the lake already describes keeps its first row."""
    if not rows:
        return
    stamp = now()
    table = pa.Table.from_pylist([{**row, "ingested_at": stamp, "run_id": run_id} for row in rows])
    con.register("_new_pixel_files", table)
    try:
        con.execute("INSERT OR IGNORE INTO lake.pixel_file_versions BY NAME SELECT * FROM _new_pixel_files")
    finally:
        con.unregister("_new_pixel_files")


def raw_paths(con: duckdb.DuckDBPyConnection) -> set[str]:
    """Every kept pixel file (relative to the lake root): `verify` leaves these in the raw area."""
    return {p for (p,) in con.execute("SELECT raw_path FROM lake.pixel_file_versions").fetchall()}


def kept_files_of_versions(con: duckdb.DuckDBPyConnection, shas: list[str]) -> dict[str, str]:
    """Light-curve version sha -> the kept pixel file (relative to the lake root) it was made from."""
    return dict(
        con.execute(
            "SELECT v.file_sha256, p.raw_path FROM lake.lightcurve_versions v "
            "JOIN lake.pixel_file_versions p ON p.file_sha256 = v.pixel_sha256 "
            "WHERE v.file_sha256 IN (SELECT unnest(?))",
            [shas],
        ).fetchall()
    )


def versions_of_pixel_files(con: duckdb.DuckDBPyConnection, shas: list[str]) -> dict[str, list[str]]:
    """Pixel file sha -> the light-curve versions made from it (one per aperture)."""
    out: dict[str, list[str]] = {}
    for pixel_sha, sha in con.execute(
        "SELECT pixel_sha256, file_sha256 FROM lake.lightcurve_versions WHERE pixel_sha256 IN (SELECT unnest(?)) "
        "ORDER BY is_current DESC, file_sha256",
        [shas],
    ).fetchall():
        out.setdefault(pixel_sha, []).append(sha)
    return out
