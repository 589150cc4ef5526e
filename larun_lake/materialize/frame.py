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
from .options import MaterializeOptions

BATCH_ROWS = 1_000_000  # input cadences per batch: ~25 MB per column, cache-friendly, ~50 SPOC sectors
DEFAULT_MEMORY_LIMIT = "1GB"
ID_DICT = pa.dictionary(pa.int32(), pa.string())
SMALL_DICT = pa.dictionary(pa.int16(), pa.string())

# The long form (decision 21): one row per cadence.
LONG_SCHEMA = pa.schema(
    [
        ("lc_id", ID_DICT),
        ("mission", SMALL_DICT),
        ("author", SMALL_DICT),
        ("target_id", pa.int64()),
        ("tic_id", pa.int64()),
        ("period", SMALL_DICT),
        ("time", pa.float64()),
        ("flux", pa.float32()),
        ("flux_err", pa.float32()),
        ("quality", pa.int32()),
        ("cadenceno", pa.int32()),
    ]
)
CADENCE_FIELDS = ("time", "flux", "flux_err", "quality", "cadenceno")


def _sql(name: str) -> str:
    return load_sql(f"materialize/{name}").strip().rstrip(";")


@dataclass(frozen=True)
class Batch:
    """Long rows of whole units; `lc_index` gives each row's light curve (index into the members)."""

    table: pa.Table  # LONG_SCHEMA
    lc_index: np.ndarray  # int32, per row
    lo: int  # members [lo, hi) are in this batch (some may have no rows left)
    hi: int


class Plan:
    """Per-light-curve numbers of a set, as numpy arrays, and how they fall into batches."""

    def __init__(self, root: Path, members: pa.Table, options: MaterializeOptions) -> None:
        self.root = root
        self.options = options
        self.n = members.num_rows
        col = members.column
        self.files = col("data_file").to_pylist()
        self.offsets = col("row_offset").to_numpy().astype(np.int64)
        self.counts = col("row_count").to_numpy().astype(np.int64)
        self.bitmasks = col("bitmask").to_numpy().astype(np.int64)
        self.units = unit_index(members, options.stitch)
        self.norms = self._stored_norms(members)
        self.target_id = col("target_id").to_numpy().astype(np.int64)
        self.tic_id = col("tic_id").fill_null(0).to_numpy().astype(np.int64)
        self.tic_valid = col("tic_id").is_valid().to_numpy(zero_copy_only=False)
        self.lc_dict = col("lc_id").cast(pa.string()).combine_chunks()
        self.dicts = {name: _codes(col(name)) for name in ("mission", "author", "period")}

    def _stored_norms(self, members: pa.Table) -> np.ndarray:
        """The median to divide by, per light curve: 1 without normalising, NaN = compute it per batch."""
        if not self.options.normalize:
            return np.ones(self.n, dtype=np.float64)
        norms = np.full(self.n, np.nan)
        preset = self.options.preset
        if preset is not None:
            stored = members.column(f"median_flux_{preset}").to_numpy(zero_copy_only=False).astype(np.float64)
            flux_columns = members.column("flux_column").to_pylist()
            usable = np.array([self.options.uses_stored_median(c or "") for c in flux_columns], dtype=bool)
            norms[usable] = stored[usable]
            # A light curve with no finite flux has a NULL median: dividing by NaN is what lightkurve does.
            self.all_nan = usable & np.isnan(stored)
        else:
            self.all_nan = np.zeros(self.n, dtype=bool)
        return norms

    def needs_median(self, lo: int, hi: int) -> np.ndarray:
        if not self.options.normalize:
            return np.zeros(hi - lo, dtype=bool)
        return np.isnan(self.norms[lo:hi]) & ~self.all_nan[lo:hi]

    def batches(self, batch_rows: int = BATCH_ROWS) -> list[tuple[int, int]]:
        """[lo, hi) member ranges of whole units with about batch_rows input cadences each."""
        out: list[tuple[int, int]] = []
        lo, rows = 0, 0
        for i in range(self.n):
            rows += int(self.counts[i])
            unit_ends = i + 1 == self.n or self.units[i + 1] != self.units[i]
            if rows >= batch_rows and unit_ends:
                out.append((lo, i + 1))
                lo, rows = i + 1, 0
        if lo < self.n:
            out.append((lo, self.n))
        return out


def unit_index(members: pa.Table, stitch: bool) -> np.ndarray:
    """Unit number per light curve: itself, or its target (mission, target_id) when stitching."""
    n = members.num_rows
    if not stitch or n == 0:
        return np.arange(n, dtype=np.int64)
    missions = members.column("mission").to_pylist()
    targets = members.column("target_id").to_pylist()
    keys = list(zip(missions, targets, strict=True))
    new = np.array([i == 0 or keys[i] != keys[i - 1] for i in range(n)], dtype=bool)  # members sorted by target
    return np.cumsum(new) - 1


def _codes(column: pa.ChunkedArray) -> tuple[np.ndarray, pa.Array]:
    encoded = column.combine_chunks().dictionary_encode()
    return encoded.indices.to_numpy(zero_copy_only=False).astype(np.int16), encoded.dictionary


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
            index = ords.astype(np.int32) + lo

            def per_row(values: np.ndarray) -> np.ndarray:
                return values[index]
        else:  # rows come grouped by light curve, in order: repeat per-light-curve values
            counts = np.diff(np.searchsorted(ords, np.arange(hi - lo + 1, dtype=ords.dtype), side="left"))

            def per_row(values: np.ndarray) -> np.ndarray:
                return np.repeat(values[lo:hi], counts)

            index = per_row(np.arange(plan.n, dtype=np.int32))
        tic = pa.array(per_row(plan.tic_id), mask=None if plan.tic_valid[lo:hi].all() else ~per_row(plan.tic_valid))
        arrays = [
            pa.DictionaryArray.from_arrays(pa.array(index), plan.lc_dict),
            *(
                pa.DictionaryArray.from_arrays(pa.array(per_row(plan.dicts[name][0])), plan.dicts[name][1])
                for name in ("mission", "author")
            ),
            pa.array(per_row(plan.target_id)),
            tic,
            pa.DictionaryArray.from_arrays(pa.array(per_row(plan.dicts["period"][0])), plan.dicts["period"][1]),
            *(result.column(name) for name in CADENCE_FIELDS),
        ]
        return Batch(pa.Table.from_arrays(arrays, schema=LONG_SCHEMA), index, lo, hi)


def _nan_for_null(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """Columns a product kind lacks are all-null in the lake; materialized flux shows them as NaN."""
    return pc.fill_null(column, np.float32("nan")) if column.null_count else column
