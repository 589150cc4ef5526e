"""Cadences of a set, batch by batch: read exactly the rows the catalog points at, then mask,
drop NaNs and normalise each light curve; bin and stitch in DuckDB.

The catalog says where every light curve's rows sit (data file, row offset, row count) and row
groups hold whole light curves, so pyarrow reads only those row groups and only the needed
columns, with no scan of the rest of the lake, and the reader threads (both cores) mask and
divide each light curve with vectorized numpy as soon as its rows arrive: the same float32
arithmetic as lightkurve. (Measured on 1,000 two-minute light curves: running the mask and the
division as a DuckDB query over the Arrow batches took 1.8 s into pandas against 0.73 s this
way, the difference being DuckDB's Arrow import and export of every cadence.) DuckDB does what
needs a relational engine: the selection (select.py), binning (GROUP BY) and stitching (ORDER
BY), on a plain in-memory connection that never holds the catalog. Batches hold whole units (a
light curve, or a stitched series), bounded in rows, and the next batch is read while the
current one is consumed, so memory does not grow with the set.
"""

from __future__ import annotations

import os
import threading
import warnings
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import cached_property

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ..errors import LakeBusyError, LakeDamagedError
from ..lake.storage import Storage
from ..sqlfiles import load_sql
from .plan import BATCH_ROWS, CADENCE_FIELDS, Plan

DEFAULT_MEMORY_LIMIT = "1GB"
READ_AHEAD = 2  # batches being read while one is consumed
Piece = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]  # time, flux, flux_err, quality, cadenceno


def _sql(name: str) -> str:
    return load_sql(f"materialize/{name}").strip().rstrip(";")


@dataclass
class Batch:
    """Output rows of members [lo, hi) (whole units): the cadence columns, and how many rows each
    member has. Rows are grouped by member in member order, or, when stitching, by unit with
    `take` giving each row's member. The long-form Arrow table is built only when asked for."""

    plan: Plan
    lo: int
    hi: int
    cadences: dict[str, pa.ChunkedArray]  # CADENCE_FIELDS
    counts: np.ndarray  # rows per member, members lo..hi-1
    take: np.ndarray | None = None  # per-row member index (stitched rows interleave by time)

    def per_row(self, values: np.ndarray) -> np.ndarray:
        """A per-member array (indexed like the plan's members) expanded to one value per row."""
        return np.repeat(values[self.lo : self.hi], self.counts) if self.take is None else values[self.take]

    @cached_property
    def table(self) -> pa.Table:
        """The long form: per-light-curve id columns (dictionary-encoded where repetitive) + cadences."""
        plan = self.plan
        tic_mask = None if plan.tic_valid[self.lo : self.hi].all() else ~self.per_row(plan.tic_valid)
        target_mask = None if plan.target_valid[self.lo : self.hi].all() else ~self.per_row(plan.target_valid)
        columns = {
            **{
                name: pa.DictionaryArray.from_arrays(self.per_row(c.codes), c.dictionary)
                for name, c in plan.codes.items()
            },
            "target_id": pa.array(self.per_row(plan.target_id), mask=target_mask),
            "tic_id": pa.array(self.per_row(plan.tic_id), mask=tic_mask),
            **self.cadences,
        }
        return pa.Table.from_arrays([columns[f.name] for f in plan.schema], schema=plan.schema)


class _FileIndex:
    """Footers and row-group boundaries of the data files, parsed once per materialization.

    Readers are not shared between threads (a ParquetFile is not thread-safe): each job opens its
    own, reusing the parsed footer."""

    def __init__(self, store: Storage, sizes: dict[str, int]) -> None:
        self.store = store
        self.sizes = sizes
        self._files: dict[str, tuple[pq.FileMetaData, np.ndarray]] = {}
        self._lock = threading.Lock()

    def open(self, rel: str) -> tuple[pq.ParquetFile, np.ndarray]:
        with self._lock:
            known = self._files.get(rel)
        try:
            if known is None:
                _check_size(rel, self.store.size(rel), self.sizes.get(rel))
            if self.store.is_local:
                # Data files are immutable once registered (a newer version goes to a new file), so
                # mapping them is safe and saves a copy of the compressed bytes.
                source = self.store.path(rel)
                pf = pq.ParquetFile(source, memory_map=True, metadata=known[0] if known else None)
            else:
                pf = pq.ParquetFile(self.store.open_input(rel), metadata=known[0] if known else None)
        except FileNotFoundError as exc:
            raise LakeBusyError(
                f"lake data file {rel} went away while materializing (a newer version was imported)",
                hint="run the materialization again",
            ) from exc
        if known is None:
            md = pf.metadata
            sizes = [md.row_group(g).num_rows for g in range(md.num_row_groups)]
            known = (md, np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64))
            with self._lock:
                self._files[rel] = known
        return pf, known[1]


def _check_size(rel: str, size: int, expected: int | None) -> None:
    """A data file changed behind the lake's back would serve wrong rows: refuse it (the size is checked on
    every materialization; `verify` compares checksums)."""
    if expected is not None and size != expected:
        raise LakeDamagedError(
            f"lake data file {rel} has {size} bytes, the catalog says {expected}: it was changed outside the lake",
            hint="run 'larun-lake verify', then import or harvest its light curves again",
        )


def _read_file_part(
    files: _FileIndex, rel: str, items: list[int], plan: Plan, columns: list[str]
) -> dict[int, pa.Table]:
    """The rows of some light curves of one data file: whole row groups read once, then sliced."""
    pf, starts = files.open(rel)
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


def cadence_mask(time: np.ndarray, quality: np.ndarray, bitmask: int) -> np.ndarray:
    """The cadences lightkurve keeps: those with a time and none of the mask's quality bits."""
    return ~np.isnan(time) & ((quality & bitmask) == 0)


def read_stored_rows(plan: Plan, columns: list[str]) -> dict[int, pa.Table]:
    """Each member's stored rows as they are (no mask), with `columns`: for the few light curves
    of one target, read in this thread."""
    files = _FileIndex(plan.store, plan.file_sizes)
    by_file: dict[str, list[int]] = {}
    for i, rel in enumerate(plan.files):
        by_file.setdefault(rel, []).append(i)
    out: dict[int, pa.Table] = {}
    for rel, items in by_file.items():
        out.update(_read_file_part(files, rel, items, plan, columns))
    return out


def mask_lightcurve(rows: pa.Table, plan: Plan, i: int, value: str, error: str | None) -> Piece:
    """One light curve's cadences after the quality mask, NaN removal and normalisation.

    As lightkurve: NaN times always go; the divisor is np.nanmedian of the flux that passes the
    mask (stored at ingest, or computed here); flux / median stays float32."""
    opts = plan.options
    time = rows.column("time").to_numpy()
    quality = rows.column("quality").to_numpy()
    flux = rows.column(value).to_numpy(zero_copy_only=False)  # an absent column (all NULL) reads as NaN
    keep = cadence_mask(time, quality, plan.bitmasks[i])
    if opts.normalize and np.isnan(plan.norms[i]) and not plan.all_nan[i]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN light curve: NaN, as lightkurve
            plan.norms[i] = np.nanmedian(flux[keep])
    if opts.remove_nans:
        keep &= ~np.isnan(flux)
    flux = flux[keep]
    err = rows.column(error).to_numpy(zero_copy_only=False)[keep] if error else np.full(len(flux), np.nan, np.float32)
    if opts.normalize:
        norm = np.float32(plan.norms[i])
        flux, err = flux / norm, err / norm
    return time[keep], flux, err, quality[keep], rows.column("cadenceno").to_numpy()[keep]


class Engine:
    """Runs a plan: reader threads read and mask light curves; DuckDB bins and stitches batches."""

    def __init__(self, plan: Plan, *, threads: int | None = None, memory_limit: str | None = None) -> None:
        self.plan = plan
        self.threads = threads or os.cpu_count() or 2
        self.memory_limit = memory_limit or DEFAULT_MEMORY_LIMIT
        opts = plan.options
        self.columns = list(dict.fromkeys(["time", opts.value_column, "quality", "cadenceno"]))
        if opts.error_column:
            self.columns.append(opts.error_column)

    def batches(self, batch_rows: int = BATCH_ROWS) -> Iterator[Batch]:
        ranges = self.plan.batches(batch_rows)
        if not ranges:
            return
        files = _FileIndex(self.plan.store, self.plan.file_sizes)
        con = finishing_connection(self.plan, self.threads, self.memory_limit)
        with ThreadPoolExecutor(self.threads) as pool:
            # Jobs of the next READ_AHEAD batches stay queued so that no reader idles at a batch's end.
            queued = [self._submit(pool, files, lo, hi) for lo, hi in ranges[:READ_AHEAD]]
            try:
                for k, (lo, hi) in enumerate(ranges):
                    pieces = {i: piece for job in queued.pop(0) for i, piece in job.result().items()}
                    if k + READ_AHEAD < len(ranges):
                        queued.append(self._submit(pool, files, *ranges[k + READ_AHEAD]))
                    batch = assemble(self.plan, pieces, lo, hi)
                    yield finish(con, batch) if con is not None else batch
            finally:
                for job in (job for jobs in queued for job in jobs):
                    job.cancel()
                if con is not None:
                    con.close()

    def _submit(self, pool: ThreadPoolExecutor, files: _FileIndex, lo: int, hi: int) -> list[Future]:
        by_file: dict[str, list[int]] = {}
        for i in range(lo, hi):
            by_file.setdefault(self.plan.files[i], []).append(i)
        return [pool.submit(self._read_and_mask, files, rel, items) for rel, items in by_file.items()]

    def _read_and_mask(self, files: _FileIndex, rel: str, items: list[int]) -> dict[int, Piece]:
        opts = self.plan.options
        parts = _read_file_part(files, rel, items, self.plan, self.columns)
        return {
            i: mask_lightcurve(rows, self.plan, i, opts.value_column, opts.error_column) for i, rows in parts.items()
        }


def finishing_connection(plan: Plan, threads: int, memory_limit: str) -> duckdb.DuckDBPyConnection | None:
    """The in-memory DuckDB connection that bins and stitches, when the options ask for either."""
    if not (plan.options.bin_s or plan.options.stitch):
        return None
    return duckdb.connect(":memory:", config={"threads": threads, "memory_limit": memory_limit})


def assemble(plan: Plan, pieces: dict[int, Piece], lo: int, hi: int) -> Batch:
    """Members [lo, hi) in member order; cadence columns stay in per-light-curve chunks (no copy)."""
    ordered = [pieces[i] for i in range(lo, hi)]
    counts = np.array([len(p[0]) for p in ordered], dtype=np.int64)
    types = {f.name: f.type for f in plan.schema}
    columns = {
        name: pa.chunked_array([p[k] for p in ordered], type=types[name]) for k, name in enumerate(CADENCE_FIELDS)
    }
    return Batch(plan, lo, hi, columns, counts)


def finish(con: duckdb.DuckDBPyConnection, batch: Batch) -> Batch:
    """Binning and/or stitching of one batch in DuckDB; rows come back grouped by unit."""
    plan, opts = batch.plan, batch.plan.options
    lo, hi = batch.lo, batch.hi
    ords = np.repeat(np.arange(hi - lo, dtype=np.int32), batch.counts)
    source = pa.table({"ord": ords, **batch.cadences})
    text = "SELECT * FROM source"
    params: dict = {}
    if opts.bin_s:
        text = f"WITH masked AS ({text}\n) {_sql('bin.sql')}"
        params.update(width_d=opts.bin_s / 86400.0, remove_nans=opts.remove_nans)
    if opts.stitch:
        text = f"WITH result AS ({text}\n) {_sql('stitch.sql')}"
        params["units"] = plan.units[lo:hi].tolist()
    con.register("source", source)
    try:
        result = con.sql(text, params=params or None).to_arrow_table()
    finally:
        con.unregister("source")
    members = result.column("ord").to_numpy().astype(np.int64)
    counts = np.bincount(members, minlength=hi - lo)
    cadences = {n: result.column(n) for n in CADENCE_FIELDS}
    return Batch(plan, lo, hi, cadences, counts, take=members + lo if opts.stitch else None)
