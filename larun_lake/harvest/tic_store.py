"""TIC rows in the lake: Parquet partitioned by HEALPix pixel, one row per TIC id.

A cone query then reads the few pixels it touches. A re-harvest of an id replaces its
row (the pixel's file is rewritten) and tic_index records when.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import Any

import astropy.units as u
import cdshealpix
import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from astropy.coordinates import Latitude, Longitude

from ..catalog import versions
from ..catalog.datasets import decode_schema, encode_schema, union_of_tic_schemas
from ..catalog.db import now
from ..layout import LakeLayout
from ..schema import tic_columns

HEALPIX_ORDER = 5  # 12,288 pixels of 3.4 square degrees


def healpix(ra: np.ndarray, dec: np.ndarray) -> np.ndarray:
    return cdshealpix.lonlat_to_healpix(Longitude(ra, u.deg), Latitude(dec, u.deg), HEALPIX_ORDER).astype(np.int64)


_ARROW = {"DOUBLE": pa.float64(), "BIGINT": pa.int64(), "BOOLEAN": pa.bool_(), "VARCHAR": pa.string()}


def column_type(name: str, declared: Mapping[str, str], values: list[Any]) -> pa.DataType:
    """MAST's declaration for this batch, else the TIC's known type, else what the values say.

    Never the values when a declaration exists: an all-null Teff must stay a number.
    """
    if declared.get(name) in _ARROW:
        return _ARROW[declared[name]]
    if name in tic_columns():
        return tic_columns()[name]
    present = [v for v in values if v is not None]
    if not present:
        return pa.null()  # unknown until some batch has a value; merges into any type
    if all(isinstance(v, bool) for v in present):
        return pa.bool_()
    if all(isinstance(v, int) and not isinstance(v, bool) for v in present):
        return pa.int64()
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in present):
        return pa.float64()
    return pa.string()


def _convert(value: Any, kind: pa.DataType) -> Any:
    """One value as `kind`; text that is not a number becomes null rather than failing the batch."""
    if value is None:
        return None
    try:
        if pa.types.is_floating(kind):
            return float(value)
        if pa.types.is_integer(kind):
            return int(value) if not isinstance(value, str) else int(float(value))
        if pa.types.is_boolean(kind):
            return value if isinstance(value, bool) else str(value).strip().lower() in ("true", "1", "t")
    except (TypeError, ValueError):
        return None
    return str(value)


def rows_to_table(rows: list[dict[str, Any]], declared: Mapping[str, str] | None = None) -> pa.Table:
    """Arrow table of TIC rows, each column typed as MAST declared it (ID as int64)."""
    declared = {**(declared or {}), "ID": "BIGINT"}
    names = list(dict.fromkeys(key for row in rows for key in row))
    arrays = {}
    for name in names:
        values = [row.get(name) for row in rows]
        kind = column_type(name, declared, values)
        arrays[name] = pa.array([_convert(v, kind) for v in values] if kind != pa.null() else values, kind)
    return pa.table(arrays)


def _cast(column: pa.ChunkedArray, kind: pa.DataType) -> pa.ChunkedArray:
    if column.type == kind:
        return column
    try:
        return column.cast(kind)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        # e.g. Teff stored as text by an older harvest: numbers come back, anything else is null
        return pa.chunked_array([pa.array([_convert(v, kind) for v in column.to_pylist()], kind)])


def _merged_type(name: str, types: list[pa.DataType]) -> pa.DataType:
    """A column's type across files: the TIC's declared type, else the values' common type."""
    if name in tic_columns():
        return tic_columns()[name]
    kinds = {t for t in types if t != pa.null()}
    if not kinds:
        return pa.null()
    if len(kinds) == 1:
        return kinds.pop()
    return pa.float64() if kinds <= {pa.int64(), pa.float64()} else pa.string()


def _unify(tables: list[pa.Table], newest: pa.Table) -> pa.Table:
    """Concatenate a pixel's old rows with new ones; the new batch's (declared) types win.

    A column missing in one harvest is null there; old files whose type differs are cast.
    """
    names: list[str] = list(newest.column_names)
    seen: dict[str, list[pa.DataType]] = {}
    for t in tables:
        for field in t.schema:
            if field.name not in seen and field.name not in names:
                names.append(field.name)
            seen.setdefault(field.name, []).append(field.type)
    types = {
        n: newest.schema.field(n).type
        if n in newest.column_names and newest.schema.field(n).type != pa.null()
        else _merged_type(n, seen[n])
        for n in names
    }
    out = []
    for t in tables:
        cols = [_cast(t.column(n), types[n]) if n in t.column_names else pa.nulls(t.num_rows, types[n]) for n in names]
        out.append(pa.table(cols, names=names))
    return pa.concat_tables(out)


def store_rows(
    con: duckdb.DuckDBPyConnection,
    layout: LakeLayout,
    rows: list[dict[str, Any]],
    *,
    run_id: str,
    sequence: Iterator[int],
    declared: Mapping[str, str] | None = None,
) -> tuple[int, int, list]:
    """Write TIC rows into their pixels inside an open write transaction.

    `declared` holds the SQL type MAST declared for each column (see MastClient.TicRows).
    Returns (new ids, replaced ids, files to delete after the commit).
    """
    if not rows:
        return 0, 0, []
    table = rows_to_table(rows, declared if declared is not None else getattr(rows, "types", None))
    ids = table.column("ID").to_numpy()
    # The same id twice in one harvest: keep the last row.
    _, last = np.unique(ids[::-1], return_index=True)
    table = table.take(pa.array(np.sort(len(ids) - 1 - last)))
    ids = table.column("ID").to_numpy()
    pix = healpix(
        table.column("ra").to_numpy(zero_copy_only=False).astype(float),
        table.column("dec").to_numpy(zero_copy_only=False).astype(float),
    )
    harvested = set(ids.tolist())
    known = dict(
        con.execute("SELECT id, hpx FROM lake.tic_index WHERE id IN (SELECT unnest(?))", [ids.tolist()]).fetchall()
    )
    obsolete: list = []
    written: dict[str, pa.Schema] = {}
    stamp = now()
    files_of: dict[int, list[str]] = {}  # pixel -> its registered TIC files, from one query
    for (rel,) in con.execute("SELECT path FROM lake.data_files WHERE area = 'tic' ORDER BY path").fetchall():
        files_of.setdefault(int(rel.split("/")[1].removeprefix("hpx=")), []).append(rel)
    # Pixels holding the new rows, and pixels holding old copies of them (a star's position can change).
    for pixel in sorted(set(pix.tolist()) | set(known.values())):
        new = table.filter(pa.array(pix == pixel))
        parts = []
        for rel in files_of.get(pixel, []):
            old = pq.read_table(layout.store.path(rel), filesystem=layout.store.fs)
            parts.append(old.filter(pa.array([i not in harvested for i in old.column("ID").to_pylist()])))
            versions.unregister_file(con, rel)
            obsolete.append(rel)
        parts = [t for t in [*parts, new] if t.num_rows]
        if not parts:
            continue
        merged = _unify(parts, table).sort_by([("dec", "ascending")])
        rel = layout.tic_file(int(pixel), run_id, next(sequence))
        staged = layout.scratch_file(run_id, rel.replace("/", "__"), rel)
        store = layout.store
        with store.open_output(staged) as out:
            pq.write_table(merged, out, compression="zstd", row_group_size=50_000)
        size, sha = store.size(staged), store.sha256(staged)
        if staged != rel:
            store.move(staged, rel)
        versions.register_file(
            con,
            rel,
            area="tic",
            mission=None,
            author=None,
            period=None,
            n_rows=merged.num_rows,
            n_lightcurves=0,
            size_bytes=size,
            sha256=sha,
            run_id=run_id,
        )
        con.register("_tic_ids", pa.table({"id": merged.column("ID")}))
        con.execute("UPDATE lake.tic_index SET data_file = ? WHERE id IN (SELECT id FROM _tic_ids)", [rel])
        con.unregister("_tic_ids")
        con.register("_tic_new", pa.table({"id": new.column("ID")}))
        con.execute("DELETE FROM lake.tic_index WHERE id IN (SELECT id FROM _tic_new)")
        con.execute("INSERT INTO lake.tic_index SELECT id, ?, ?, ?, ? FROM _tic_new", [int(pixel), rel, stamp, run_id])
        con.unregister("_tic_new")
        written[rel] = merged.schema
    _record_columns(con, layout, written)
    return len(ids) - len(known), len(known), obsolete


def _record_columns(con: duckdb.DuckDBPyConnection, layout: LakeLayout, written: dict[str, pa.Schema]) -> None:
    """Keep the union of the TIC files' columns in the catalog, so the SQL surface reads no footer to learn it."""
    recorded = con.execute("SELECT value FROM lake.lake_meta WHERE key = 'tic_schema'").fetchall()
    if recorded:
        schemas = [decode_schema(recorded[0][0])]
    else:  # a lake from before the record: learn the other files' columns once
        others = [r for (r,) in con.execute("SELECT path FROM lake.data_files WHERE area = 'tic'").fetchall()
                  if r not in written]
        schemas = []
        for rel in others:
            with contextlib.suppress(OSError):  # a missing file: `verify` reports it; its columns are not needed
                schemas.append(pq.read_schema(layout.store.path(rel), filesystem=layout.store.fs))
    union = union_of_tic_schemas([*schemas, *written.values()])
    con.execute("INSERT OR REPLACE INTO lake.lake_meta VALUES ('tic_schema', ?)", [encode_schema(union)])
