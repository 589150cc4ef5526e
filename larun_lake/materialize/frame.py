"""Cadences of a set, batch by batch: read the rows the catalog points at, then mask, normalise,
bin and stitch them in DuckDB.

The catalog already says where every light curve's rows sit (data file, row offset, row count)
and row groups hold whole light curves, so pyarrow reads exactly those row groups and only the
needed columns, with no scan of the rest of the lake. DuckDB (a plain in-memory connection that
never holds the catalog) then applies the quality mask, drops NaNs and divides by the median
(precomputed at ingest where it applies) over each Arrow batch; the scan keeps the batch's
order. Batches hold whole units (a light curve, or a target when stitching), are read one
ahead of the one being processed, and are bounded in rows, so memory does not grow with the set.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..errors import LakeBusyError
from ..sqlfiles import load_sql
from .plan import BATCH_ROWS, CADENCE_FIELDS, Plan

DEFAULT_MEMORY_LIMIT = "1GB"


def _sql(name: str) -> str:
    return load_sql(f"materialize/{name}").strip().rstrip(";")


@dataclass(frozen=True)
class Batch:
    """Long rows of whole units; `lc_index` gives each row's light curve (index into the members)."""

    table: pa.Table  # the plan's long schema
    lc_index: np.ndarray  # int32, per row
    lo: int  # members [lo, hi) are in this batch (some may have no rows left)
    hi: int


class _FileIndex:
    """Row-group boundaries of the data files, opened once per materialization."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._files: dict[str, tuple[pq.ParquetFile, np.ndarray]] = {}

    def get(self, rel: str) -> tuple[pq.ParquetFile, np.ndarray]:
        if rel not in self._files:
            try:
                pf = pq.ParquetFile(str(self.root / rel))
            except FileNotFoundError as exc:
                raise LakeBusyError(
                    f"lake data file {rel} went away while materializing (a newer version was imported)",
                    hint="run the materialization again",
                ) from exc
            md = pf.metadata
            sizes = [md.row_group(g).num_rows for g in range(md.num_row_groups)]
            self._files[rel] = (pf, np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64))
        return self._files[rel]


def _read_file_part(
    files: _FileIndex, rel: str, items: list[int], plan: Plan, columns: list[str]
) -> dict[int, pa.Table]:
    """The rows of some light curves of one data file: whole row groups read once, then sliced."""
    pf, starts = files.get(rel)
    first = np.searchsorted(starts, plan.offsets[items], side="right") - 1
    last = np.searchsorted(starts, plan.offsets[items] + plan.counts[items], side="left")
    if np.any(plan.offsets[items] + plan.counts[items] > starts[-1]):
        raise LakeBusyError(f"lake data file {rel} is shorter than the catalog says", hint="run 'larun-lake verify'")
    groups = sorted({g for a, b in zip(first, last, strict=True) for g in range(a, b)})
    table = pf.read_row_groups(groups, columns=columns, use_threads=False)
    position = {}  # start of each row group inside `table`
    at = 0
    for g in groups:
        position[g] = at
        at += int(starts[g + 1] - starts[g])
    out = {}
    for i, g in zip(items, first, strict=True):
        local = position[g] + int(plan.offsets[i] - starts[g])
        out[i] = table.slice(local, int(plan.counts[i]))
    return out


class Engine:
    """Runs a plan: reads batches with a small thread pool, processes them on one DuckDB connection."""

    def __init__(self, plan: Plan, *, threads: int | None = None, memory_limit: str | None = None) -> None:
        self.plan = plan
        self.threads = threads or os.cpu_count() or 2
        self.memory_limit = memory_limit or DEFAULT_MEMORY_LIMIT
        opts = plan.options
        self.columns = ["time", opts.value_column, "quality", "cadenceno"]
        if opts.error_column:
            self.columns.insert(2, opts.error_column)

    def batches(self, batch_rows: int = BATCH_ROWS) -> Iterator[Batch]:
        ranges = self.plan.batches(batch_rows)
        if not ranges:
            return
        files = _FileIndex(self.plan.root)
        con = duckdb.connect(":memory:", config={"threads": self.threads, "memory_limit": self.memory_limit})
        with ThreadPoolExecutor(self.threads) as readers, ThreadPoolExecutor(1) as ahead:
            try:
                pending = ahead.submit(self._read, files, readers, *ranges[0])
                for k, (lo, hi) in enumerate(ranges):
                    table = pending.result()
                    if k + 1 < len(ranges):
                        pending = ahead.submit(self._read, files, readers, *ranges[k + 1])
                    yield self._process(con, table, lo, hi)
            finally:
                con.close()

    def _read(self, files: _FileIndex, pool: ThreadPoolExecutor, lo: int, hi: int) -> pa.Table:
        """Input cadences of members [lo, hi) in member order, with `ord` = member index - lo."""
        plan = self.plan
        by_file: dict[str, list[int]] = {}
        for i in range(lo, hi):
            by_file.setdefault(plan.files[i], []).append(i)
        parts: dict[int, pa.Table] = {}
        jobs = [pool.submit(_read_file_part, files, rel, items, plan, self.columns) for rel, items in by_file.items()]
        for job in jobs:
            parts.update(job.result())
        table = pa.concat_tables([parts[i] for i in range(lo, hi)])
        opts = plan.options
        return pa.table(
            {
                "ord": np.repeat(np.arange(hi - lo, dtype=np.int32), plan.counts[lo:hi]),
                "time": table.column("time"),
                "value": _nan_for_null(table.column(opts.value_column)),
                "err": _nan_for_null(table.column(opts.error_column))
                if opts.error_column
                else np.full(table.num_rows, np.nan, dtype=np.float32),
                "quality": table.column("quality"),
                "cadenceno": table.column("cadenceno"),
            }
        )

    def _process(self, con: duckdb.DuckDBPyConnection, batch: pa.Table, lo: int, hi: int) -> Batch:
        plan, opts = self.plan, self.plan.options
        bitmasks = plan.bitmasks[lo:hi].tolist()
        norms = plan.norms[lo:hi].copy()
        need = plan.needs_median(lo, hi)
        con.register("batch", batch)
        if need.any():
            rows = con.sql(_sql("median.sql"), params={"bitmasks": bitmasks}).fetchall()
            computed = dict(rows)
            for j in np.flatnonzero(need):
                norms[j] = computed.get(int(j), np.nan)
                plan.norms[lo + j] = norms[j]  # iteration and manifests see the same medians
        text = _sql("mask.sql")
        uniform = bool(np.all(plan.bitmasks[lo:hi] == plan.bitmasks[lo]))
        params: dict = {
            "bitmasks": bitmasks,
            "bitmask": bitmasks[0],
            "uniform": uniform,
            "norms": norms.tolist(),
            "remove_nans": opts.remove_nans,
        }
        if opts.bin_s:
            text = f"WITH masked AS ({text}\n) {_sql('bin.sql')}"
            params["width_d"] = opts.bin_s / 86400.0
        if opts.stitch:
            text = f"WITH result AS ({text}\n) {_sql('stitch.sql')}"
            params["units"] = plan.units[lo:hi].tolist()
        result = con.sql(text, params=params).to_arrow_table()
        con.unregister("batch")
        return self._long(result, lo, hi)

    def _long(self, result: pa.Table, lo: int, hi: int) -> Batch:
        """Attach the per-light-curve columns (dictionary-encoded where repetitive) to DuckDB's rows."""
        plan = self.plan
        ords = result.column("ord").to_numpy()
        if plan.options.stitch:  # rows of a target interleave by time: gather per row
            take = ords.astype(np.int64) + lo

            def per_row(values: np.ndarray) -> np.ndarray:
                return values[take]
        else:  # rows come grouped by light curve, in order: repeat per-light-curve values
            counts = np.diff(np.searchsorted(ords, np.arange(hi - lo + 1, dtype=ords.dtype)))

            def per_row(values: np.ndarray) -> np.ndarray:
                return np.repeat(values[lo:hi], counts)

        lc_index = per_row(np.arange(plan.n, dtype=np.int32))
        tic_mask = None if plan.tic_valid[lo:hi].all() else ~per_row(plan.tic_valid)
        columns = {
            **{name: pa.DictionaryArray.from_arrays(per_row(c.codes), c.dictionary) for name, c in plan.codes.items()},
            "target_id": pa.array(per_row(plan.target_id)),
            "tic_id": pa.array(per_row(plan.tic_id), mask=tic_mask),
            **{name: result.column(name) for name in CADENCE_FIELDS},
        }
        table = pa.Table.from_arrays([columns[f.name] for f in plan.schema], schema=plan.schema)
        return Batch(table, lc_index, lo, hi)


def _nan_for_null(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """Columns a product kind lacks are all-null in the lake; materialized flux shows them as NaN."""
    return pc.fill_null(column, np.float32("nan")) if column.null_count else column
