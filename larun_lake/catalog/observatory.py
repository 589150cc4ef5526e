"""Observations of any MAST collection, their remembered searches, spectra and images in the catalog."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import duckdb
import pyarrow as pa

from ..sqlfiles import load_sql
from .db import now

OBSERVATION_COLUMNS = (
    "obsid", "obs_collection", "obs_id", "intentType", "provenance_name", "instrument_name", "project", "filters",
    "wavelength_region", "target_name", "target_classification", "s_ra", "s_dec", "s_region", "dataproduct_type",
    "calib_level", "t_min", "t_max", "t_exptime", "em_min", "em_max", "t_obs_release", "proposal_id", "proposal_pi",
    "proposal_type", "obs_title", "sequence_number", "dataRights", "mtFlag", "jpegURL", "dataURL", "srcDen", "objID",
)  # fmt: skip
_TYPES = {"s_ra": "DOUBLE", "s_dec": "DOUBLE", "t_min": "DOUBLE", "t_max": "DOUBLE", "t_exptime": "DOUBLE",
          "em_min": "DOUBLE", "em_max": "DOUBLE", "t_obs_release": "DOUBLE", "srcDen": "DOUBLE",
          "calib_level": "INTEGER", "sequence_number": "INTEGER", "mtFlag": "BOOLEAN"}  # fmt: skip


def upsert_observations(con: duckdb.DuckDBPyConnection, rows: list[dict[str, Any]], run_id: str) -> None:
    """Record observation rows as MAST returned them (a later answer replaces an earlier one)."""
    if not rows:
        return
    stamp = now()
    table = pa.Table.from_pylist(
        [{c: _value(row.get(c), c) for c in OBSERVATION_COLUMNS} | {"fetched_at": stamp, "run_id": run_id}
         for row in {str(r["obsid"]): r for r in rows}.values()]
    )  # fmt: skip
    con.register("_new_observations", table)
    try:
        con.execute(load_sql("observatory/upsert_observations.sql"))
    finally:
        con.unregister("_new_observations")


def _value(value: Any, column: str) -> Any:
    if value is None:
        return None
    kind = _TYPES.get(column)
    try:
        if kind == "DOUBLE":
            return float(value)
        if kind == "INTEGER":
            return int(value)
        if kind == "BOOLEAN":
            return bool(value)
    except (TypeError, ValueError):
        return None
    return str(value)


def criteria_key(criteria: dict[str, Any]) -> str:
    """A search in canonical text form: the same search, however written, is the same key."""
    norm = {k: sorted(map(str, v)) if isinstance(v, (list, tuple, set)) else v for k, v in criteria.items() if v}
    return json.dumps(norm, sort_keys=True, default=str)


def remembered_search(con: duckdb.DuckDBPyConnection, key: str) -> tuple[list[str], datetime] | None:
    rows = con.execute("SELECT obsids, fetched_at FROM lake.observation_searches WHERE criteria = ?", [key]).fetchall()
    return (list(rows[0][0]), rows[0][1]) if rows else None


def remember_search(
    con: duckdb.DuckDBPyConnection, key: str, obsids: list[str], n_products: int, mast_url: str, run_id: str
) -> None:
    con.execute(
        "INSERT OR REPLACE INTO lake.observation_searches VALUES (?, ?, ?, ?, ?, ?, ?)",
        [key, obsids, now(), len(obsids), n_products, mast_url, run_id],
    )


def observation_rows(con: duckdb.DuckDBPyConnection, obsids: list[str]) -> list[dict[str, Any]]:
    if not obsids:
        return []
    cur = con.execute("SELECT * FROM lake.observations WHERE obsid IN (SELECT unnest(?)) ORDER BY obsid", [obsids])
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def products_of(con: duckdb.DuckDBPyConnection, obsids: list[str]) -> list[dict[str, Any]]:
    """The product rows the catalog holds for these observations (what an offline harvest works from)."""
    if not obsids:
        return []
    cur = con.execute("SELECT * FROM lake.products WHERE obsid IN (SELECT unnest(?)) ORDER BY product_uri", [obsids])
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


# -- spectra and images -------------------------------------------------------------------------
def held_files(con: duckdb.DuckDBPyConnection, shas: list[str]) -> dict[str, tuple[str, bool, str]]:
    """file_sha256 -> (spec_id or image_id, is_current, 'spectrum' | 'image') for the files the lake holds."""
    if not shas:
        return {}
    rows = con.execute(load_sql("observatory/held_files.sql"), {"shas": shas}).fetchall()
    return {sha: (ident, bool(current), kind) for sha, ident, current, kind in rows}


def known_shas(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {
        sha
        for (sha,) in con.execute(
            "SELECT file_sha256 FROM lake.spectrum_versions UNION SELECT file_sha256 FROM lake.image_versions"
        ).fetchall()
    }


def current_spectra(con: duckdb.DuckDBPyConnection, spec_ids: list[str]) -> dict[str, dict[str, Any]]:
    if not spec_ids:
        return {}
    cur = con.execute(load_sql("observatory/current_spectra.sql"), {"ids": spec_ids})
    names = [d[0] for d in cur.description]
    return {r[0]: dict(zip(names, r, strict=True)) for r in cur.fetchall()}


def current_images(con: duckdb.DuckDBPyConnection, image_ids: list[str]) -> dict[str, dict[str, Any]]:
    if not image_ids:
        return {}
    cur = con.execute(load_sql("observatory/current_images.sql"), {"ids": image_ids})
    names = [d[0] for d in cur.description]
    return {r[0]: dict(zip(names, r, strict=True)) for r in cur.fetchall()}


def insert_rows(con: duckdb.DuckDBPyConnection, table: str, rows: list[dict[str, Any]]) -> None:
    """Insert spectrum_versions or image_versions rows in one statement."""
    if not rows:
        return
    if table not in ("spectrum_versions", "image_versions"):
        raise ValueError(table)
    columns = [c for (c,) in con.execute(
        "SELECT column_name FROM duckdb_columns() WHERE database_name = 'lake' AND table_name = ?", [table]
    ).fetchall()]  # fmt: skip
    con.register("_new_versions", pa.Table.from_pylist([{c: row.get(c) for c in columns} for row in rows]))
    try:
        con.execute(f"INSERT INTO lake.{table} BY NAME SELECT * FROM _new_versions")
    finally:
        con.unregister("_new_versions")


def retire_spectrum(con: duckdb.DuckDBPyConnection, spec_id: str, sha: str, newer: str, history_file: str) -> None:
    """A spectrum version a newer one replaces: no longer current, its rows now in the history area."""
    con.execute(
        "UPDATE lake.spectrum_versions SET is_current = false, superseded_at = ?, superseded_by = ?, data_file = ? "
        "WHERE spec_id = ? AND file_sha256 = ?",
        [now(), newer, history_file, spec_id, sha],
    )


def retire_image(con: duckdb.DuckDBPyConnection, image_id: str, sha: str) -> None:
    con.execute(
        "UPDATE lake.image_versions SET is_current = false, superseded_at = ? WHERE image_id = ? AND file_sha256 = ?",
        [now(), image_id, sha],
    )


def image_raw_paths(con: duckdb.DuckDBPyConnection) -> set[str]:
    """Every kept image file: `verify` leaves these in the raw area."""
    return {p for (p,) in con.execute("SELECT raw_path FROM lake.image_versions").fetchall()}
