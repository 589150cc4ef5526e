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

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

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
    "pixel_file_versions",
    "spectrum_versions",
    "image_versions",
    "observations",
    "observation_searches",
    "tic_index",
    "mast_searches",
    "mast_products",
    "materialized_sets",
    "materialized_set_members",
)
_VERSION = re.compile(r"^v(\d{6})$")


def _versions(layout: LakeLayout) -> list[str]:
    """Names of the snapshots in the lake (vNNNNNN), oldest first."""
    names = {rel.split("/")[1] for rel, _ in layout.store.list_files(SNAPSHOT) if rel.count("/") >= 2}
    return sorted(n for n in names if _VERSION.match(n))


def latest(layout: LakeLayout) -> tuple[str, dict] | None:
    """The latest snapshot's folder (relative to the lake) and its description, or None when the lake has none."""
    try:
        info = json.loads(layout.store.read_bytes(f"{SNAPSHOT}/{LATEST}"))
    except (OSError, ValueError):
        return None
    name = str(info.get("version", "")) if isinstance(info, dict) else ""
    if not _VERSION.match(name) or not layout.store.exists(f"{SNAPSHOT}/{name}/lake_meta.parquet"):
        return None
    return f"{SNAPSHOT}/{name}", info


def publish(con: duckdb.DuckDBPyConnection, layout: LakeLayout) -> str:
    """Copy the catalog's tables (attached as `lake`) into a new snapshot and make it the latest.

    On a local lake the tables are written to a temporary folder renamed into place; on an
    object store, which has no rename, under their final names: either way the snapshot is
    not used before LATEST, written last, points at it.
    """
    store = layout.store
    present = _versions(layout)
    name = f"v{max((int(v[1:]) for v in present), default=0) + 1:06d}"
    final = f"{SNAPSHOT}/{name}"
    target = f"{SNAPSHOT}/.{name}.tmp-{os.getpid()}" if store.is_local else final
    existing = {t for (t,) in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = 'lake'").fetchall()}
    con.execute("INSERT OR REPLACE INTO lake.lake_meta VALUES ('snapshot_version', ?)", [name])
    counts = {}
    try:
        store.make_dirs(target)
        for table in TABLES:
            if table not in existing:
                continue
            rows = con.sql(f"SELECT * FROM lake.{table}").to_arrow_table()
            with store.open_output(f"{target}/{table}.parquet") as out:
                pq.write_table(rows, out, compression="zstd")
            counts[table] = rows.num_rows
        if target != final:
            store.move(target, final)
    finally:
        if target != final:
            store.delete_tree(target)
    meta = dict(con.execute("SELECT key, value FROM lake.lake_meta").fetchall())
    info = {"version": name, "lake_id": meta.get("lake_id"), "schema_version": meta.get("schema_version"),
            "rows": counts}
    store.write_bytes(f"{SNAPSHOT}/{LATEST}", json.dumps(info).encode())
    _prune(layout, present, counts.get("lightcurve_versions", 0))
    return final


def _prune(layout: LakeLayout, older: list[str], versions_now: int) -> None:
    """Keep the newest KEEP snapshots, and the newest older one that knew more light-curve versions than
    the catalog does now (a catalog that lost rows must not push out the snapshot that still has them)."""
    store = layout.store
    kept_richer = False
    for old in list(reversed(older))[KEEP - 1:]:  # the new snapshot is the first of the KEEP
        if not kept_richer:
            try:
                with store.open_input(f"{SNAPSHOT}/{old}/lightcurve_versions.parquet") as source:
                    kept_richer = pq.ParquetFile(source).metadata.num_rows > versions_now
            except (OSError, pa.ArrowException):
                kept_richer = False
            if kept_richer:
                continue
        store.delete_tree(f"{SNAPSHOT}/{old}")


def restore(con: duckdb.DuckDBPyConnection, layout: LakeLayout, snapshot: str) -> dict[str, int]:
    """Fill the (new, empty) catalog attached as `lake` from a snapshot; rows restored per table."""
    store = layout.store
    restored = {}
    for table in TABLES:
        rel = f"{snapshot}/{table}.parquet"
        if not store.exists(rel):
            continue
        with store.open_input(rel) as source:
            rows = pq.read_table(source)
        con.register("snapshot_rows", rows)
        try:
            if table == "lake_meta":  # keep the new catalog's schema version; take the lake's identity
                con.execute("INSERT OR REPLACE INTO lake.lake_meta SELECT * FROM snapshot_rows "
                            "WHERE key NOT IN ('schema_version')")
            else:
                con.execute(f"INSERT INTO lake.{table} BY NAME SELECT * FROM snapshot_rows")
        finally:
            con.unregister("snapshot_rows")
        restored[table] = con.execute(f"SELECT count(*) FROM lake.{table}").fetchall()[0][0]
    con.execute("INSERT OR REPLACE INTO lake.lake_meta VALUES ('snapshot_version', ?)", [snapshot.rsplit("/", 1)[1]])
    return restored


def lake_id_of(layout: LakeLayout) -> str | None:
    found = latest(layout)
    return found[1].get("lake_id") if found else None


def has_lake_data(layout: LakeLayout) -> bool:
    """Whether a lake holds data files or snapshots (so a missing catalog means damage, not a new lake)."""
    if any(layout.store.list_files(area, limit_one=True)
           for area in ("cadences", "tic", "_history", "spectra", "spectral_timeseries")):
        return True
    return bool(_versions(layout)) or layout.store.exists(f"{SNAPSHOT}/{LATEST}")  # not the writer's LEASE


def run_of_data_file(relpath: str) -> str | None:
    """The run that wrote a data file, from its name (part-<run id>-<seq>.parquet)."""
    m = re.match(r"^part-(.+?)-(?:\d{4}|c\d{5}-\d{3})\.parquet$", os.path.basename(relpath))
    return m.group(1) if m else None
