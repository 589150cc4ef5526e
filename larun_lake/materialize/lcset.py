"""LightCurveSet: a resolved selection plus options, materialized on demand.

Creating one runs the selection (seconds at most) and fixes the members and the content hash;
the cadences are read only when asked for: whole (to_arrow, to_pandas, to_lightkurve), one
light curve at a time (iteration), or streamed to a file (write).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from ..catalog import Catalog
from ..kinds import id_prefix, missions
from .frame import Batch, Engine
from .lightkurve_meta import lightkurve_meta, make_lightcurve, quiet_lightkurve, unit_label
from .options import MaterializeOptions
from .output import RunnerFactory, WriteResult, write_set
from .plan import BATCH_ROWS, CADENCE_FIELDS, Plan
from .select import Selection
from .sets import content_hash

if TYPE_CHECKING:
    import pandas as pd

    from .tasks import TaskEngine

    BatchSource = Engine | TaskEngine  # anything with .batches(batch_rows)

SHRINK_BELOW = 0.8  # to_pandas copies columns to their exact size when over a fifth of the space is unused


@dataclass(frozen=True)
class MaterializedLightCurve:
    """One light curve (or one stitched series): its cadences and lightkurve-style metadata."""

    lc_id: str  # for a stitched series: the light curves' ids joined with '+'
    meta: dict[str, Any]
    table: pa.Table  # long-form rows
    members: list[dict[str, Any]]  # the catalog rows of the light curve(s) it is made of

    def __len__(self) -> int:
        return self.table.num_rows

    def column(self, name: str) -> np.ndarray:
        return self.table.column(name).to_numpy()

    @property
    def time(self) -> np.ndarray:
        return self.column("time")

    @property
    def flux(self) -> np.ndarray:
        return self.column("flux")

    @property
    def flux_err(self) -> np.ndarray:
        return self.column("flux_err")

    @property
    def quality(self) -> np.ndarray:
        return self.column("quality")

    @property
    def cadenceno(self) -> np.ndarray:
        return self.column("cadenceno")

    def to_pandas(self) -> pd.DataFrame:
        return self.table.to_pandas()

    def to_lightkurve(self):  # -> lightkurve.LightCurve
        return make_lightcurve(self.meta, self.table)


class LightCurveSet:
    """The light curves a statement selected, with the options to apply; cadences read lazily.

    >>> lcs = materialize(lake, "SELECT lc_id FROM lightcurves WHERE tmag < 9", normalize=True)
    >>> lcs.to_pandas()            # one row per cadence
    >>> for lc in lcs: ...         # one light curve at a time
    >>> lcs.write("msets/bright.parquet")
    """

    def __init__(
        self,
        catalog: Catalog,
        selection: Selection,
        options: MaterializeOptions,
        *,
        threads: int | None = None,
        memory_limit: str | None = None,
        batch_rows: int = BATCH_ROWS,
        runner: RunnerFactory | None = None,
    ) -> None:
        self.catalog = catalog
        self.root: Path = catalog.layout.protected_root
        self.selection = selection
        self.options = options
        self.threads = threads
        self.memory_limit = memory_limit
        self.batch_rows = batch_rows
        self.runner = runner  # where `write` reads Parquet sets: the lake's executor, or None for here
        self._plan = Plan(catalog.layout.store, selection.members, options)
        self.rows_per_lightcurve: dict[str, int] | None = None  # known after one full pass

    # -- what the set is -----------------------------------------------------------------------
    @property
    def sql(self) -> str:
        return self.selection.sql

    @property
    def members(self) -> pa.Table:
        """One row per light curve: ids, version (file_sha256, data_rel), placement, medians."""
        return self.selection.members

    @property
    def schema(self) -> pa.Schema:
        """Arrow schema of the long form (dictionary index widths depend on the set's size)."""
        return self._plan.schema

    @property
    def lc_ids(self) -> list[str]:
        return self.selection.lc_ids

    @functools.cached_property
    def content_hash(self) -> str:  # the members never change: sort and hash them once
        return content_hash(self.sql, self.options, self.members)

    def __len__(self) -> int:
        """Number of light curves iteration yields (stitched series when stitching)."""
        units = self._plan.units
        return int(units[-1]) + 1 if len(units) else 0

    def __repr__(self) -> str:
        return f"<LightCurveSet of {self._plan.n} light curves {self.options.as_dict()}>"

    def _repr_html_(self) -> str:
        """Jupyter's view: one row per light curve (no cadence is read), then the count and the options."""
        from ..notebook import html_table

        n = self._plan.n
        size = f"{n:,} light {'curve' if n == 1 else 'curves'}"
        if self.options.stitch:
            size += f" in {len(self):,} stitched series"
        chosen = {k: v for k, v in self.options.as_dict().items() if v not in (None, False, ())}
        size += "; " + ", ".join(f"{k}={v}" for k, v in chosen.items())
        return html_table(self.members, title="LightCurveSet", size=size, view=member_cells, columns=MEMBER_CELLS)

    # -- reading -------------------------------------------------------------------------------
    def _batches(self, engine: BatchSource | None = None) -> Iterator[Batch]:
        engine = engine or Engine(self._plan, threads=self.threads, memory_limit=self.memory_limit)
        counts: dict[str, int] = {}
        lc_ids = self.lc_ids
        for batch in engine.batches(self.batch_rows):
            counts.update(zip(lc_ids[batch.lo : batch.hi], batch.counts.tolist(), strict=True))
            yield batch
        self.rows_per_lightcurve = counts

    def iter_batches(self, engine: BatchSource | None = None) -> Iterator[pa.Table]:
        """Long rows (one per cadence) in bounded batches of whole light curves."""
        for batch in self._batches(engine):
            yield batch.table

    def to_arrow(self) -> pa.Table:
        tables = list(self.iter_batches())
        return pa.concat_tables(tables) if tables else self.schema.empty_table()

    def to_pandas(self) -> pd.DataFrame:
        """One row per cadence; ids as categoricals, tic_id as a nullable integer (NULL for
        Kepler/K2 stars without a known TIC)."""
        return assemble_pandas(self._plan, self._batches())

    def to_polars(self):  # -> polars.DataFrame
        import polars as pl

        return pl.from_arrow(self.to_arrow())

    def __iter__(self) -> Iterator[MaterializedLightCurve]:
        """One light curve (one stitched series when stitching) at a time; memory stays bounded by a batch."""
        for units in self.iter_unit_batches():
            yield from units

    def iter_unit_batches(self) -> Iterator[list[MaterializedLightCurve]]:
        """The light curves of each batch (whole units; empty ones included, with no rows)."""
        rows = self.members.to_pylist()
        units = self._plan.units
        for batch in self._batches():
            table = batch.table
            batch_units = units[batch.lo : batch.hi]
            out = []
            start = 0
            for u in np.unique(batch_units):
                idx = np.flatnonzero(batch_units == u)
                stop = start + int(batch.counts[idx].sum())  # a unit's rows are contiguous
                parts = [rows[batch.lo + i] for i in idx]
                meta = lightkurve_meta(parts, self.options, self._plan.norms[idx + batch.lo])
                out.append(MaterializedLightCurve(unit_label(parts), meta, table.slice(start, stop - start), parts))
                start = stop
            yield out

    def to_lightkurve(self):  # -> lightkurve.LightCurveCollection
        """A LightCurveCollection of TessLightCurve/KeplerLightCurve, time in BTJD/BKJD."""
        with quiet_lightkurve():
            import lightkurve as lk

            return lk.LightCurveCollection([lc.to_lightkurve() for lc in self])

    def plot(self, *, max_lightcurves: int = 12):  # -> matplotlib.figure.Figure
        """A grid of the set's first `max_lightcurves` light curves (reads only the batches that hold them)."""
        from ..plots import plot_grid

        return plot_grid(self, max_lightcurves=max_lightcurves, title="light curve set")

    # -- writing -------------------------------------------------------------------------------
    def write(
        self, path: str | Path, *, format: str = "parquet", overwrite: bool = False, name: str | None = None
    ) -> WriteResult:
        """Write the set (parquet, parquet-nested, csv, lightkurve-fits), its manifest beside it
        (<path>.manifest.json), and record it in the catalog as a named set (default name: the
        output's stem). `path` is a local path or an object URL (s3://bucket/sets/name.parquet);
        with the lake's executor set to Dask (or another executor), Parquet is read by its tasks."""
        return write_set(self, path, format=format, overwrite=overwrite, name=name, runner=self.runner)


MEMBER_CELLS = ("lc_id", "mission", "author", "target", "period", "exptime_s", "cadences")


def member_cells(row: dict[str, Any]) -> dict[str, Any]:
    """A set member as its notebook row: the target as users name it, the cadences stored."""
    mission, target_id = row["mission"], row["target_id"]
    if target_id is not None and mission in missions():
        target = f"{id_prefix(mission)} {target_id}"
    else:
        target = row.get("target_name")
    return {**row, "target": target, "cadences": row["row_count"]}


def assemble_pandas(plan: Plan, batches: Iterable[Batch]) -> pd.DataFrame:
    """A whole set as one DataFrame, assembled while the batches are still being read.

    Columns are allocated once, for the set's input cadences (an upper bound: masking and binning
    only remove rows), and each batch is copied into place as it arrives, so the copy overlaps the
    reading of later batches and the columns are plain writable numpy arrays (zero-copy Arrow
    conversions are read-only). Ids are categoricals expanded from per-light-curve codes."""
    import pandas as pd

    capacity = int(plan.counts.sum())
    dtypes = {f.name: f.type.to_pandas_dtype() for f in plan.schema if f.name in CADENCE_FIELDS}
    columns: dict[str, np.ndarray] = {name: np.empty(capacity, dtype) for name, dtype in dtypes.items()}
    ids: dict[str, np.ndarray] = {name: np.empty(capacity, c.codes.dtype) for name, c in plan.codes.items()}
    ids["target_id"] = np.empty(capacity, np.int64)
    ids["tic_id"] = np.empty(capacity, np.int64)
    tic_null = np.zeros(capacity, dtype=bool)
    target_null = np.zeros(capacity, dtype=bool)
    at = 0
    for batch in batches:
        n = int(batch.counts.sum())
        for name in CADENCE_FIELDS:
            pos = at
            for chunk in batch.cadences[name].chunks:
                values = chunk.to_numpy()
                columns[name][pos : pos + len(values)] = values
                pos += len(values)
        for name, c in plan.codes.items():
            ids[name][at : at + n] = batch.per_row(c.codes)
        ids["target_id"][at : at + n] = batch.per_row(plan.target_id)
        ids["tic_id"][at : at + n] = batch.per_row(plan.tic_id)
        if not plan.tic_valid[batch.lo : batch.hi].all():
            tic_null[at : at + n] = ~batch.per_row(plan.tic_valid)
        if not plan.target_valid[batch.lo : batch.hi].all():
            target_null[at : at + n] = ~batch.per_row(plan.target_valid)
        at += n

    def fit(values: np.ndarray) -> np.ndarray:
        return values[:at].copy() if at < SHRINK_BELOW * capacity else values[:at]

    frame: dict[str, Any] = {}
    for f in plan.schema:
        if f.name in plan.codes:
            categories = pd.Index(plan.codes[f.name].dictionary.to_pylist(), dtype=object)
            frame[f.name] = pd.Categorical.from_codes(fit(ids[f.name]), categories, validate=False)
        elif f.name == "tic_id":
            frame[f.name] = pd.arrays.IntegerArray(fit(ids["tic_id"]), fit(tic_null))
        elif f.name == "target_id" and target_null[:at].any():
            frame[f.name] = pd.arrays.IntegerArray(fit(ids["target_id"]), fit(target_null))
        elif f.name == "target_id":
            frame[f.name] = fit(ids["target_id"])
        else:
            frame[f.name] = fit(columns[f.name])
    return pd.DataFrame(frame, copy=False)
