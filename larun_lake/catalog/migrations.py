"""Numbered catalog migrations: sql/migrations/NNN_name.sql, applied once each, in order.

Each migration runs in its own transaction together with its row in `schema_migrations`
and the lake's `lake_meta.schema_version` (which earlier releases read to refuse a newer
lake), so a crash leaves the catalog at one version or the next, never between. Lakes
from before migrations were recorded say only `schema_version` N in lake_meta: they had
migrations 1..N (the files are those releases' schemas), which are recorded as such.
A schema change is a new file with the next number (ALTER TABLE for a new column),
never an edit of a shipped one.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cache

import duckdb

from ..errors import SchemaVersionError
from ..sqlfiles import list_sql, load_sql

_NAME = re.compile(r"migrations/(\d{3})_([a-z0-9_]+)\.sql")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


@cache
def available() -> tuple[Migration, ...]:
    """The shipped migrations, numbered 1, 2, ... without gaps."""
    found = []
    for sql_name in list_sql("migrations"):
        match = _NAME.fullmatch(sql_name)
        if not match:
            raise RuntimeError(f"migration file {sql_name} is not named NNN_name.sql")
        found.append(Migration(int(match[1]), match[2], load_sql(sql_name)))
    found.sort(key=lambda m: m.version)
    if [m.version for m in found] != list(range(1, len(found) + 1)):
        raise RuntimeError(f"migrations must be numbered 1..N without gaps: {[m.version for m in found]}")
    return tuple(found)


def latest_version() -> int:
    return available()[-1].version


def _has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    return bool(
        con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE database_name = 'lake' AND table_name = ?", [name]
        ).fetchall()[0][0]
    )


def recorded_version(con: duckdb.DuckDBPyConnection) -> int | None:
    """The catalog's schema version: 0 for an empty catalog, None for one without LARUN Lake tables."""
    has_meta, has_log = _has_table(con, "lake_meta"), _has_table(con, "schema_migrations")
    if not has_meta:
        has_any = con.execute("SELECT count(*) FROM duckdb_tables() WHERE database_name = 'lake'").fetchall()[0][0]
        return None if has_any else 0
    row = con.execute("SELECT value FROM lake.lake_meta WHERE key = 'schema_version'").fetchall()
    version = int(row[0][0]) if row else 0
    if has_log:
        version = max(
            version, con.execute("SELECT coalesce(max(version), 0) FROM lake.schema_migrations").fetchall()[0][0]
        )
    return version


def is_recorded(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the catalog keeps the migration log (lakes from before it do not, until their next write)."""
    return _has_table(con, "schema_migrations")


def upgrade(con: duckdb.DuckDBPyConnection, now: Callable[[], datetime]) -> list[Migration]:
    """Bring a catalog (attached as `lake`, current schema `lake`, no open transaction) to the latest version.

    The caller holds the catalog's write lock and has refused catalogs newer than latest_version().
    Returns the migrations applied now.
    """
    version = recorded_version(con) or 0
    if not is_recorded(con):
        _record_earlier(con, version)
    applied = []
    for migration in available()[version:]:
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(migration.sql)
            con.execute(
                "INSERT INTO lake.schema_migrations VALUES (?, ?, ?)", [migration.version, migration.name, now()]
            )
            con.execute("INSERT OR REPLACE INTO lake.lake_meta VALUES ('schema_version', ?)", [str(migration.version)])
            con.execute("INSERT OR IGNORE INTO lake.lake_meta VALUES ('created_at', ?)", [now().isoformat()])
            con.execute("COMMIT")
        except duckdb.Error as exc:
            _rollback(con)
            raise SchemaVersionError(
                f"cannot upgrade the catalog to schema version {migration.version} ({migration.name}): "
                f"{str(exc).splitlines()[0]}",
                hint=f"the catalog stays at version {migration.version - 1}; rerun with --debug and report this",
            ) from exc
        except BaseException:
            _rollback(con)
            raise
        applied.append(migration)
    return applied


def _record_earlier(con: duckdb.DuckDBPyConnection, version: int) -> None:
    """Start the log; a lake at schema_version N had migrations 1..N (applied_at unknown: NULL)."""
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(load_sql("schema_migrations.sql"))
        for m in available()[:version]:
            con.execute("INSERT INTO lake.schema_migrations VALUES (?, ?, NULL)", [m.version, m.name])
    except BaseException:
        _rollback(con)
        raise
    con.execute("COMMIT")


def _rollback(con: duckdb.DuckDBPyConnection) -> None:
    with contextlib.suppress(duckdb.Error):  # a failed COMMIT has already ended the transaction
        con.execute("ROLLBACK")
