"""Catalog side of `forget`: which versions, products, pixel files and sets go, and removing them.

The caller registers the versions to forget as `_forget_keys` (lc_id, file_sha256) on its connection
(see `forget_keys`) and runs everything inside one write transaction, together with the data files'
rewrite, so the catalog and the registered files change together or not at all.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb
import pyarrow as pa

from ..sqlfiles import load_sql
from .db import now

_PARAM = re.compile(r"\$(\w+)")
_COMMENT = re.compile(r"--[^\n]*")


@dataclass(frozen=True)
class ForgottenVersion:
    lc_id: str
    file_sha256: str
    is_current: bool
    target_id: int | None
    data_file: str
    row_count: int
    pixel_sha256: str | None
    source_sha256: str | None


def run_file(con: duckdb.DuckDBPyConnection, name: str, params: dict[str, Any] | None = None) -> list[tuple]:
    """Run each statement of sql/<name> with the parameters it names; the rows of the last one."""
    rows: list[tuple] = []
    for statement in duckdb.extract_statements(load_sql(name)):
        text = statement.query
        named = set(_PARAM.findall(_COMMENT.sub("", text)))
        used = {key: value for key, value in (params or {}).items() if key in named}
        missing = named - set(used)
        if missing:
            raise KeyError(f"sql/{name} needs parameters {sorted(missing)}")
        rows = con.execute(text, used).fetchall()
    return rows


def select_keys(con: duckdb.DuckDBPyConnection, name: str, params: dict[str, Any]) -> list[tuple[str, str]]:
    """(lc_id, file_sha256) of the versions a selection file (forget/by_target.sql, ...) names."""
    return [(lc_id, sha) for lc_id, sha in run_file(con, name, params)]


@contextmanager
def forget_keys(con: duckdb.DuckDBPyConnection, keys: list[tuple[str, str]]) -> Iterator[None]:
    """`_forget_keys` on this connection while the block runs."""
    table = pa.table({"lc_id": pa.array([k[0] for k in keys], pa.string()),
                      "file_sha256": pa.array([k[1] for k in keys], pa.string())})  # fmt: skip
    with _registered(con, "_forget_keys", table):
        yield


@contextmanager
def _registered(con: duckdb.DuckDBPyConnection, name: str, table: pa.Table) -> Iterator[None]:
    con.register(name, table)
    try:
        yield
    finally:
        # A failed statement aborts the transaction, and then unregistering fails too: the first error counts.
        with suppress(duckdb.TransactionException):
            con.unregister(name)


def versions(con: duckdb.DuckDBPyConnection) -> list[ForgottenVersion]:
    return [ForgottenVersion(*row) for row in run_file(con, "forget/versions.sql")]


def successor_candidates(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Versions that stay of light curves whose current version goes (see forget/successors.sql)."""
    names = ("lc_id", "file_sha256", "data_rel", "procver", "filever", "file_date", "checksum_ok", "data_file")
    return [dict(zip(names, row, strict=True)) for row in run_file(con, "forget/successors.sql")]


def products(con: duckdb.DuckDBPyConnection, hashes: list[str], target: tuple[str, int] | None = None) -> list[str]:
    """product_uri of the products that go with the versions (and, for a target, all of its products)."""
    mission, target_id = target if target else (None, None)
    params = {"hashes": hashes, "mission": mission, "target_id": target_id}
    return [uri for (uri,) in run_file(con, "forget/products.sql", params)]


def pixel_files(con: duckdb.DuckDBPyConnection, hashes: list[str]) -> list[tuple[str, str]]:
    """(file_sha256, raw_path) of kept pixel files none of whose light curves stays."""
    return run_file(con, "forget/pixel_files.sql", {"hashes": hashes}) if hashes else []


def delete(
    con: duckdb.DuckDBPyConnection,
    *,
    product_uris: list[str],
    pixel_shas: list[str],
    successors: list[tuple[str, str]],
) -> None:
    """Remove the versions of `_forget_keys`, these products and pixel files; make the successors current."""
    table = pa.table({"lc_id": pa.array([s[0] for s in successors], pa.string()),
                      "file_sha256": pa.array([s[1] for s in successors], pa.string())})  # fmt: skip
    with _registered(con, "_successors", table):
        run_file(con, "forget/delete.sql", {"products": product_uris, "pixel_files": pixel_shas, "at": now()})


def set_record(con: duckdb.DuckDBPyConnection, name: str) -> dict[str, Any] | None:
    rows = con.sql(load_sql("materialize/set_record.sql"), params={"name": name}).to_arrow_table().to_pylist()
    return rows[0] if rows else None


def delete_set(con: duckdb.DuckDBPyConnection, name: str) -> None:
    run_file(con, "forget/set_delete.sql", {"name": name})


def before(older_than_s: float | None) -> datetime | None:
    """The moment `older_than_s` seconds ago (None: no limit)."""
    if older_than_s is None:
        return None
    from datetime import timedelta

    return now() - timedelta(seconds=older_than_s)
