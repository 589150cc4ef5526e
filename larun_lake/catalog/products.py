"""The `products` table: the cache state of every file the lake knows of."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb

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


def set_state_by_sha(con: duckdb.DuckDBPyConnection, sha256: str, state: str, run_id: str | None) -> None:
    con.execute(
        "UPDATE lake.products SET state = ?, updated_at = ?, run_id = coalesce(?, run_id) "
        "WHERE sha256 = ? AND state IN ('ingested', 'downloaded')",
        [state, now(), run_id, sha256],
    )
