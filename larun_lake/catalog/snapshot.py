"""Snapshots of the catalog inside the lake folder, from which a lost catalog is rebuilt.

The data files hold cadences, not the provenance and quality of each light curve, so every
writing command ends by copying the catalog's tables as Parquet to `<lake>/_catalog/v<N>/`
and then pointing `<lake>/_catalog/LATEST` at it (written last, so a reader never sees half a
snapshot). The previous snapshot is kept as well; older ones are removed. `rebuild-catalog`
restores the latest snapshot into a new catalog and then checks it against the data files.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import duckdb

from ..lake import files
from ..lake.outputs import temporary_beside
from ..layout import LakeLayout

SNAPSHOT = "_catalog"
LATEST = "LATEST"
KEEP = 2  # the latest snapshot and the one before it
# Tables that say what the lake holds; quality tables are generated, waiting markers are not state.
TABLES = (
    "lake_meta",
    "runs",
    "products",
    "data_files",
    "lightcurve_versions",
    "tic_index",
    "mast_searches",
    "mast_products",
    "materialized_sets",
    "materialized_set_members",
)
_VERSION = re.compile(r"^v(\d{6})$")


def folder(layout: LakeLayout) -> Path:
    return layout.root / SNAPSHOT


def latest(layout: LakeLayout) -> tuple[Path, dict] | None:
    """The latest snapshot's folder and its description, or None when the lake has none."""
    try:
        info = json.loads((folder(layout) / LATEST).read_text())
    except (OSError, ValueError):
        return None
    path = folder(layout) / str(info.get("version", ""))
    return (path, info) if _VERSION.match(path.name) and path.is_dir() else None


def publish(con: duckdb.DuckDBPyConnection, layout: LakeLayout) -> Path:
    """Copy the catalog's tables (attached as `lake`) into a new snapshot and make it the latest."""
    root = folder(layout)
    files.make_dirs(root)
    numbers = [int(m.group(1)) for p in root.iterdir() if (m := _VERSION.match(p.name))]
    name = f"v{max(numbers, default=0) + 1:06d}"
    tmp = temporary_beside(root / name)
    files.make_dirs(tmp)
    try:
        existing = {t for (t,) in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = 'lake'").fetchall()}
        counts = {}
        for table in TABLES:
            if table not in existing:
                continue
            target = str(tmp / f"{table}.parquet").replace("'", "''")
            con.execute(f"COPY lake.{table} TO '{target}' (FORMAT parquet, COMPRESSION zstd)")
            counts[table] = con.execute(f"SELECT count(*) FROM lake.{table}").fetchall()[0][0]
        files.publish(tmp, root / name)
    finally:
        files.remove_any(tmp)
    meta = dict(con.execute("SELECT key, value FROM lake.lake_meta").fetchall())
    info = {"version": name, "lake_id": meta.get("lake_id"), "schema_version": meta.get("schema_version"),
            "rows": counts}
    pointer = temporary_beside(root / LATEST)
    with files.open_output(pointer) as out:
        out.write(json.dumps(info).encode())
    files.publish(pointer, root / LATEST)
    _prune(root, counts.get("lightcurve_versions", 0))
    return root / name


def _prune(root: Path, versions_now: int) -> None:
    """Keep the newest KEEP snapshots, and the newest older one that knew more light-curve versions than
    the catalog does now (a catalog that lost rows must not push out the snapshot that still has them)."""
    kept_richer = False
    for old in sorted((p for p in root.iterdir() if _VERSION.match(p.name)), reverse=True)[KEEP:]:
        if not kept_richer:
            try:
                count = duckdb.sql(f"SELECT count(*) FROM read_parquet('{old / 'lightcurve_versions.parquet'}')")
                kept_richer = count.fetchall()[0][0] > versions_now
            except duckdb.Error:
                kept_richer = False
            if kept_richer:
                continue
        files.remove_any(old)


def restore(con: duckdb.DuckDBPyConnection, snapshot: Path) -> dict[str, int]:
    """Fill the (new, empty) catalog attached as `lake` from a snapshot; rows restored per table."""
    restored = {}
    for table in TABLES:
        path = snapshot / f"{table}.parquet"
        if not path.is_file():
            continue
        source = str(path).replace("'", "''")
        if table == "lake_meta":  # keep the new catalog's schema version; take the lake's identity
            con.execute(f"INSERT OR REPLACE INTO lake.lake_meta SELECT * FROM read_parquet('{source}') "
                        "WHERE key NOT IN ('schema_version')")
        else:
            con.execute(f"INSERT INTO lake.{table} BY NAME SELECT * FROM read_parquet('{source}')")
        restored[table] = con.execute(f"SELECT count(*) FROM lake.{table}").fetchall()[0][0]
    return restored


def lake_id_of(layout: LakeLayout) -> str | None:
    found = latest(layout)
    return found[1].get("lake_id") if found else None


def has_lake_data(layout: LakeLayout) -> bool:
    """Whether a folder holds lake data files or snapshots (so a missing catalog means damage, not a new lake)."""
    for area in ("cadences", "tic", "_history", SNAPSHOT):
        top = layout.root / area
        if top.is_dir() and any(p.is_file() for p in top.rglob("*")):
            return True
    return False


def run_of_data_file(relpath: str) -> str | None:
    """The run that wrote a data file, from its name (part-<run id>-<seq>.parquet)."""
    m = re.match(r"^part-(.+)-\d{4}\.parquet$", os.path.basename(relpath))
    return m.group(1) if m else None
