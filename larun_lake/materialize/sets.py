"""Named sets: the manifest, the content hash, the catalog record and change detection.

The content hash covers what the set *is*: the sorted (lc_id, file_sha256) pairs,
the normalised options and the SQL text. Timestamps, software versions and bytes go in the
manifest only, so the same statement on an unchanged lake gives the same hash on any machine.
"""

from __future__ import annotations

import hashlib
import json
import platform
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from typing import Any

import duckdb
import pyarrow as pa

from ..catalog import Catalog
from ..errors import UsageError
from ..sqlfiles import load_sql
from .options import MaterializeOptions
from .select import Selection, resolve
from .target import output_present
from .timesystem import time_systems

MANIFEST_VERSION = 1


def content_hash(sql: str, options: MaterializeOptions, members: pa.Table) -> str:
    pairs = sorted(zip(members.column("lc_id").to_pylist(), members.column("file_sha256").to_pylist(), strict=True))
    payload = {"sql": sql.strip(), "options": options.as_dict(), "lightcurves": pairs}
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def software_versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for dist in ("larun-lake", "duckdb", "pyarrow", "numpy", "pandas", "lightkurve", "astropy"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return out


def build_manifest(
    lcs: Any, *, name: str, output: str, fmt: str, rows_per_lightcurve: dict[str, int]
) -> dict[str, Any]:
    """Everything needed to say what a set was and to make it again."""
    members = lcs.members.select(["lc_id", "file_sha256", "data_rel", "procver", "file_name"]).to_pylist()
    for m in members:
        m["n_rows"] = rows_per_lightcurve.get(m["lc_id"], 0)
    return {
        "manifest_version": MANIFEST_VERSION,
        "name": name,
        "content_hash": lcs.content_hash,
        "sql": lcs.sql,
        "key": lcs.selection.key,
        "options": lcs.options.as_dict(),
        "output": {"path": output, "format": fmt},
        "counts": {
            "lightcurves": len(members),
            "units": len(lcs),
            "rows": sum(m["n_rows"] for m in members),
            "input_cadences": int(sum(lcs.members.column("row_count").to_pylist())),
            "unmatched_lc_ids": lcs.selection.n_unmatched,
        },
        # How to read `time`: per mission and author, its system and BJD reference (time + bjdrefi + bjdreff = BJD).
        "time_systems": time_systems(lcs.members),
        "lake": lcs.catalog.layout.url,
        "created_at": datetime.now(UTC).isoformat(),
        "software": software_versions(),
        "lightcurves": members,
    }


def record_set(con: duckdb.DuckDBPyConnection, manifest: dict[str, Any], manifest_path: str) -> None:
    """Insert or replace the set's catalog rows (inside the caller's write transaction)."""
    name = manifest["name"]
    con.execute(
        load_sql("materialize/set_insert.sql"),
        {
            "name": name,
            "content_hash": manifest["content_hash"],
            "sql_text": manifest["sql"],
            "options": json.dumps(manifest["options"], sort_keys=True),
            "key_kind": manifest["key"],
            "n_lightcurves": manifest["counts"]["lightcurves"],
            "n_rows": manifest["counts"]["rows"],
            "output_path": manifest["output"]["path"],
            "output_format": manifest["output"]["format"],
            "manifest_path": manifest_path,
            "created_at": manifest["created_at"],
            "version": manifest["software"].get("larun-lake"),
        },
    )
    con.execute("DELETE FROM lake.materialized_set_members WHERE name = ?", [name])
    rows = pa.Table.from_pylist(
        [{k: m[k] for k in ("lc_id", "file_sha256", "data_rel", "n_rows")} for m in manifest["lightcurves"]],
        schema=pa.schema(
            [("lc_id", pa.string()), ("file_sha256", pa.string()), ("data_rel", pa.int32()), ("n_rows", pa.int64())]
        ),
    )
    con.register("new_set_members", rows)
    con.execute(load_sql("materialize/set_member_insert.sql"), {"name": name})
    con.unregister("new_set_members")


def existing_hash(catalog: Catalog, name: str) -> str | None:
    with catalog.read(sandbox=False, surface=False) as con:
        record = _record(con, name)
    return record["content_hash"] if record else None


def list_sets(catalog: Catalog) -> pa.Table:
    with catalog.read(sandbox=False, surface=False) as con:
        if not _has_tables(con):
            return pa.Table.from_pylist([], schema=pa.schema([("name", pa.string())]))
        table = con.sql(load_sql("materialize/sets_list.sql")).to_arrow_table()
    present = [output_present(p) for p in table.column("output_path").to_pylist()]
    return table.append_column("output_present", pa.array(present, pa.bool_()))


@dataclass
class SetStatus:
    """A named set compared with what its statement selects in the lake now."""

    name: str
    record: dict[str, Any]
    current_hash: str | None
    superseded: list[dict[str, Any]] = field(default_factory=list)  # same lc_id, another version
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    error: str | None = None  # the statement no longer runs
    output_gone: bool = False  # the written output is no longer at its path

    @property
    def changed(self) -> bool:
        return bool(self.error or self.superseded or self.added or self.removed or self.output_gone)

    def summary(self) -> str:
        if self.error:
            return f"set {self.name}: the selection no longer runs: {self.error}"
        if not self.changed:
            return f"set {self.name}: unchanged (the lake gives the same {self.record['n_lightcurves']} light curves)"
        parts = []
        if self.output_gone:
            parts.append(f"its output {self.record['output_path']} is gone")
        if self.superseded:
            parts.append(f"{len(self.superseded)} light curve(s) have a newer version")
        if self.added:
            parts.append(f"{len(self.added)} more light curve(s) selected")
        if self.removed:
            parts.append(f"{len(self.removed)} light curve(s) gone")
        return f"set {self.name}: CHANGED since it was made: " + "; ".join(parts)


def set_record(catalog: Catalog, name: str) -> dict[str, Any]:
    """One named set's catalog record (its statement, options, counts, output), or a UsageError."""
    with catalog.read(sandbox=False, surface=False) as con:
        record = _record(con, name)
    if record is None:
        raise UsageError(f"no materialized set named {name!r}", hint="see 'larun-lake sets list'")
    return record


def set_status(catalog: Catalog, name: str) -> SetStatus:
    """Re-run a set's statement with its options and compare members and versions."""
    with catalog.read(sandbox=False, surface=False) as con:  # the set's own rows: no user SQL, no views
        record = _record(con, name)
        if record is None:
            raise UsageError(f"no materialized set named {name!r}", hint="see 'larun-lake sets list'")
        old = {
            lc: {"file_sha256": sha, "data_rel": rel}
            for lc, sha, rel, _ in con.execute(load_sql("materialize/set_members.sql"), {"name": name}).fetchall()
        }
    options = MaterializeOptions(**json.loads(record["options"]))
    status = SetStatus(name, record, None, output_gone=not output_present(record["output_path"]))
    try:
        selection: Selection = resolve(catalog, record["sql_text"], options)
    except UsageError as exc:
        status.error = str(exc)
        return status
    status.current_hash = content_hash(selection.sql, options, selection.members)
    now = {r["lc_id"]: r for r in selection.members.select(["lc_id", "file_sha256", "data_rel"]).to_pylist()}
    for lc_id in sorted(set(old) & set(now)):
        if old[lc_id]["file_sha256"] != now[lc_id]["file_sha256"]:
            status.superseded.append(
                {
                    "lc_id": lc_id,
                    "old_sha256": old[lc_id]["file_sha256"],
                    "new_sha256": now[lc_id]["file_sha256"],
                    "old_data_rel": old[lc_id]["data_rel"],
                    "new_data_rel": now[lc_id]["data_rel"],
                }
            )
    status.added = sorted(set(now) - set(old))
    status.removed = sorted(set(old) - set(now))
    return status


def _record(con: duckdb.DuckDBPyConnection, name: str) -> dict[str, Any] | None:
    if not _has_tables(con):
        return None
    rows = con.sql(load_sql("materialize/set_record.sql"), params={"name": name}).to_arrow_table().to_pylist()
    return rows[0] if rows else None


def _has_tables(con: duckdb.DuckDBPyConnection) -> bool:
    found = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE database_name = 'lake' AND table_name = 'materialized_sets'"
    ).fetchall()
    return bool(found[0][0])
