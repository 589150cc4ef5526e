"""TIC rows in the lake: Parquet partitioned by HEALPix pixel, one row per TIC id.

A cone query then reads the few pixels it touches. A re-harvest of an id replaces its
row (the pixel's file is rewritten) and tic_index records when.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import astropy.units as u
import cdshealpix
import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from astropy.coordinates import Latitude, Longitude

from ..catalog import versions
from ..catalog.db import now
from ..lake import files
from ..layout import LakeLayout

HEALPIX_ORDER = 5  # 12,288 pixels of 3.4 square degrees


def healpix(ra: np.ndarray, dec: np.ndarray) -> np.ndarray:
    return cdshealpix.lonlat_to_healpix(Longitude(ra, u.deg), Latitude(dec, u.deg), HEALPIX_ORDER).astype(np.int64)


def rows_to_table(rows: list[dict[str, Any]]) -> pa.Table:
    """Typed Arrow table of TIC rows: ID as int64, numbers as float64/int64, everything else as string."""
    columns: dict[str, list] = {}
    for row in rows:
        for key in row:
            columns.setdefault(key, [])
    for key in columns:
        columns[key] = [row.get(key) for row in rows]
    arrays = {}
    for key, values in columns.items():
        if key == "ID":
            arrays[key] = pa.array([int(v) for v in values], pa.int64())
            continue
        present = [v for v in values if v is not None]
        if present and all(isinstance(v, bool) for v in present):
            kind = pa.bool_()
        elif present and all(isinstance(v, int) and not isinstance(v, bool) for v in present):
            kind = pa.int64()
        elif present and all(isinstance(v, int | float) and not isinstance(v, bool) for v in present):
            kind = pa.float64()
            values = [float(v) if v is not None else None for v in values]
        else:
            kind = pa.string()
            values = [str(v) if v is not None else None for v in values]
        arrays[key] = pa.array(values, kind)
    return pa.table(arrays)


def _unify(tables: list[pa.Table]) -> pa.Table:
    """Concatenate tables whose columns may differ (a column missing in one harvest is null there)."""
    names: list[str] = []
    types: dict[str, pa.DataType] = {}
    for t in tables:
        for field in t.schema:
            if field.name not in types:
                names.append(field.name)
                types[field.name] = field.type
            elif types[field.name] != field.type:
                # int vs float widens to float; anything else falls back to string
                pair = {types[field.name], field.type}
                types[field.name] = pa.float64() if pair == {pa.int64(), pa.float64()} else pa.string()
    out = []
    for t in tables:
        cols = [t.column(n).cast(types[n]) if n in t.column_names else pa.nulls(t.num_rows, types[n]) for n in names]
        out.append(pa.table(cols, names=names))
    return pa.concat_tables(out)


def store_rows(
    con: duckdb.DuckDBPyConnection,
    layout: LakeLayout,
    rows: list[dict[str, Any]],
    *,
    run_id: str,
    sequence: Iterator[int],
) -> tuple[int, int, list]:
    """Write TIC rows into their pixels inside an open write transaction.

    Returns (new ids, replaced ids, files to delete after the commit).
    """
    if not rows:
        return 0, 0, []
    table = rows_to_table(rows)
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
    stamp = now()
    files_of: dict[int, list[str]] = {}  # pixel -> its registered TIC files, from one query
    for (rel,) in con.execute("SELECT path FROM lake.data_files WHERE area = 'tic' ORDER BY path").fetchall():
        files_of.setdefault(int(rel.split("/")[1].removeprefix("hpx=")), []).append(rel)
    # Pixels holding the new rows, and pixels holding old copies of them (a star's position can change).
    for pixel in sorted(set(pix.tolist()) | set(known.values())):
        new = table.filter(pa.array(pix == pixel))
        parts = []
        for rel in files_of.get(pixel, []):
            old = pq.read_table(layout.abspath(rel))
            parts.append(old.filter(pa.array([i not in harvested for i in old.column("ID").to_pylist()])))
            versions.unregister_file(con, rel)
            obsolete.append(layout.abspath(rel))
        parts = [t for t in [*parts, new] if t.num_rows]
        if not parts:
            continue
        merged = _unify(parts).sort_by([("dec", "ascending")])
        rel = layout.tic_file(int(pixel), run_id, next(sequence))
        staged = layout.abspath(layout.staging_file(rel))
        files.make_dirs(staged.parent)
        pq.write_table(merged, str(staged), compression="zstd", row_group_size=50_000)
        size, sha = files.size(staged), files.sha256_of(staged)
        files.publish(staged, layout.abspath(rel))
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
    return len(ids) - len(known), len(known), obsolete
