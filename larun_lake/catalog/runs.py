"""The `runs` table: one row per import/harvest, with parameters, counts and software versions."""

from __future__ import annotations

import json
import os
import platform
import socket
import uuid
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import duckdb

from .db import now

_PACKAGES = {
    "larun_lake_version": "larun-lake",
    "astropy_version": "astropy",
    "lightkurve_version": "lightkurve",
    "astroquery_version": "astroquery",
    "duckdb_version": "duckdb",
    "pyarrow_version": "pyarrow",
    "fitsio_version": "fitsio",
}

COUNTERS = (
    "n_files",
    "n_ingested",
    "n_unchanged",
    "n_superseded",
    "n_skipped",
    "n_failed",
    "n_quarantined",
    "n_cadences",
    "bytes_read",
)


def software_versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {"python_version": platform.python_version()}
    for column, dist in _PACKAGES.items():
        try:
            out[column] = version(dist)
        except PackageNotFoundError:
            out[column] = None
    return out


def new_run_id() -> str:
    """Sortable and unique: UTC timestamp plus a random suffix."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]


def start_run(
    con: duckdb.DuckDBPyConnection, run_id: str, command: str, parameters: dict[str, Any], mast_url: str | None = None
) -> None:
    row = {
        "run_id": run_id,
        "command": command,
        "parameters": json.dumps(parameters, default=str),
        "started_at": now(),
        "status": "running",
        "mast_url": mast_url,
        "host": socket.gethostname(),
        "pid": os.getpid(),
        **software_versions(),
    }
    cols = ", ".join(row)
    con.execute(f"INSERT INTO lake.runs ({cols}) VALUES ({', '.join('?' * len(row))})", list(row.values()))


def finish_run(con: duckdb.DuckDBPyConnection, run_id: str, status: str, counts: dict[str, int]) -> None:
    sets = ", ".join(f"{k} = ?" for k in COUNTERS)
    con.execute(
        f"UPDATE lake.runs SET ended_at = ?, status = ?, {sets} WHERE run_id = ?",
        [now(), status, *[int(counts.get(k, 0)) for k in COUNTERS], run_id],
    )
