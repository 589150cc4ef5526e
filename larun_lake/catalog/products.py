"""The `products` table: the cache state of every file the lake knows of."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from ..sqlfiles import load_sql
from .db import now

STATES = ("known", "downloaded", "ingested", "skipped", "failed", "quarantined", "superseded")


def file_uri(path: Path) -> str:
    return Path(path).resolve().as_uri()


def upsert(
    con: duckdb.DuckDBPyConnection,
    product_uri: str,
    state: str,
    *,
    run_id: str | None,
    error: str | None = None,
    count_attempt: bool = False,
    **fields: Any,
) -> None:
    """Create or update one product row; `fields` are other products columns to set."""
    if state not in STATES:
        raise ValueError(f"unknown product state {state!r}")
    stamp = now()
    existing = con.execute("SELECT attempts FROM lake.products WHERE product_uri = ?", [product_uri]).fetchall()
    fields = {k: v for k, v in fields.items() if v is not None}
    if not existing:
        row = {
            "product_uri": product_uri,
            "state": state,
            "attempts": int(count_attempt),
            "last_error": error,
            "first_seen": stamp,
            "updated_at": stamp,
            "run_id": run_id,
            **fields,
        }
        cols = ", ".join(row)
        con.execute(f"INSERT INTO lake.products ({cols}) VALUES ({', '.join('?' * len(row))})", list(row.values()))
        return
    sets = {"state": state, "last_error": error, "updated_at": stamp, "run_id": run_id, **fields}
    assignments = ", ".join(f"{k} = ?" for k in sets)
    bump = ", attempts = attempts + 1" if count_attempt else ""
    con.execute(f"UPDATE lake.products SET {assignments}{bump} WHERE product_uri = ?", [*sets.values(), product_uri])


def mark_superseded(con: duckdb.DuckDBPyConnection, shas: list[str], run_id: str | None) -> None:
    """Products whose versions (by file hash) a newer version retired, in one statement."""
    if shas:
        con.execute(load_sql("catalog/products_superseded.sql"), {"shas": shas, "at": now(), "run_id": run_id})


def paths_of_shas(con: duckdb.DuckDBPyConnection, shas: list[str]) -> dict[str, list[str]]:
    """file_sha256 -> local paths of the products known to have those bytes."""
    out: dict[str, list[str]] = {}
    for sha, path in con.execute(
        "SELECT sha256, local_path FROM lake.products WHERE sha256 IN (SELECT unnest(?)) AND local_path IS NOT NULL "
        "ORDER BY local_path",
        [shas],
    ).fetchall():
        out.setdefault(sha, []).append(path)
    return out


_UPSERT_COLUMNS = (
    "product_type",
    "state",
    "mission",
    "author",
    "target_id",
    "obs_collection",
    "obs_id",
    "file_name",
    "local_path",
    "size_bytes",
    "expected_size",
    "sha256",
    "lc_id",
    "run_id",
    "suffix",
    "obsid",
    "product_category",
    "mrp",
    "calib_level",
    "description",
    "proposal_id",
)


def upsert_many(con: duckdb.DuckDBPyConnection, rows: list[dict[str, Any]]) -> None:
    """Create or update many product rows in one statement; first_seen and attempts are kept."""
    if not rows:
        return
    stamp = now()
    full = [
        {c: row.get(c) for c in ("product_uri", *_UPSERT_COLUMNS)}
        | {"first_seen": stamp, "updated_at": stamp, "last_error": None, "attempts": 0}
        for row in {r["product_uri"]: r for r in rows}.values()
    ]
    con.register("_new_products", pa.Table.from_pylist(full))
    sets = ", ".join(f"{c} = coalesce(EXCLUDED.{c}, {c})" for c in _UPSERT_COLUMNS if c not in ("state", "run_id"))
    try:
        con.execute(
            "INSERT INTO lake.products BY NAME SELECT * FROM _new_products ON CONFLICT (product_uri) DO UPDATE SET "
            f"state = EXCLUDED.state, run_id = EXCLUDED.run_id, last_error = NULL, updated_at = EXCLUDED.updated_at, "
            f"{sets}"
        )
    finally:
        con.unregister("_new_products")
