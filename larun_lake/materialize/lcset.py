"""LightCurveSet: a resolved selection plus options, materialized on demand.

Creating one runs the selection (seconds at most) and fixes the members and the content hash;
the cadences are read only when asked for: whole (to_arrow, to_pandas, to_lightkurve), one
light curve at a time (iteration), or streamed to a file (write).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from .frame import BATCH_ROWS, LONG_SCHEMA, Batch, Engine, Plan
from .lightkurve_meta import lightkurve_meta, make_lightcurve, unit_label
from .options import MaterializeOptions
from .select import Selection

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class MaterializedLightCurve:
    """One light curve (or one stitched target): its cadences and lightkurve-style metadata."""

    lc_id: str  # for a stitched target: the light curves' ids joined with '+'
    meta: dict[str, Any]
    table: pa.Table  # LONG_SCHEMA rows

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
        root: Path,
        selection: Selection,
        options: MaterializeOptions,
        *,
        threads: int | None = None,
        memory_limit: str | None = None,
        batch_rows: int = BATCH_ROWS,
    ) -> None:
        self.root = root
        self.selection = selection
        self.options = options
        self.threads = threads
        self.memory_limit = memory_limit
        self.batch_rows = batch_rows
        self._plan = Plan(root, selection.members, options)
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
    def lc_ids(self) -> list[str]:
        return self.selection.lc_ids

    @property
    def content_hash(self) -> str:
        from .sets import content_hash

        return content_hash(self.sql, self.options, self.members)

    def __len__(self) -> int:
        """Number of light curves yielded by iteration (targets when stitching)."""
        units = self._plan.units
        return int(units[-1]) + 1 if len(units) else 0

    def __repr__(self) -> str:
        return f"<LightCurveSet {self._plan.n} light curves, {self.options.as_dict()}>"

    # -- reading -------------------------------------------------------------------------------
    def iter_batches(self) -> Iterator[pa.Table]:
        """Long rows (decision 21) in bounded batches of whole light curves."""
        for batch in self._batches():
            yield batch.table

    def _batches(self) -> Iterator[Batch]:
        engine = Engine(self._plan, threads=self.threads, memory_limit=self.memory_limit)
        counts: dict[str, int] = {}
        lc_ids = self.lc_ids
        for batch in engine.batches(self.batch_rows):
            per_lc = np.bincount(batch.lc_index - batch.lo, minlength=batch.hi - batch.lo)
            counts.update(zip(lc_ids[batch.lo : batch.hi], per_lc.tolist(), strict=True))
            yield batch
        self.rows_per_lightcurve = counts

    def to_arrow(self) -> pa.Table:
        tables = list(self.iter_batches())
        return pa.concat_tables(tables) if tables else LONG_SCHEMA.empty_table()

    def to_pandas(self) -> pd.DataFrame:
        """One row per cadence; ids as categoricals, tic_id as a nullable integer."""
        import pandas as pd

        table = self.to_arrow()
        return table.to_pandas(types_mapper={pa.int64(): pd.Int64Dtype()}.get if _has_nulls(table) else None)

    def to_polars(self):  # -> polars.DataFrame
        import polars as pl

        return pl.from_arrow(self.to_arrow())

    def __iter__(self) -> Iterator[MaterializedLightCurve]:
        """One light curve (one target when stitching) at a time; memory stays bounded by a batch."""
        members = self.members
        units = self._plan.units
        for batch in self._batches():
            table = batch.table
            unit_of_row = units[batch.lc_index]
            lo_unit, hi_unit = int(units[batch.lo]), int(units[batch.hi - 1]) + 1
            bounds = np.searchsorted(unit_of_row, np.arange(lo_unit, hi_unit + 1), side="left")
            for u in range(lo_unit, hi_unit):
                idx = np.flatnonzero(units[batch.lo : batch.hi] == u) + batch.lo
                rows = members.take(pa.array(idx)).to_pylist()
                part = table.slice(int(bounds[u - lo_unit]), int(bounds[u - lo_unit + 1] - bounds[u - lo_unit]))
                meta = lightkurve_meta(rows, self.options, self._plan.norms[idx])
                yield MaterializedLightCurve(unit_label(rows), meta, part)

    def to_lightkurve(self):  # -> lightkurve.LightCurveCollection
        """A LightCurveCollection of TessLightCurve/KeplerLightCurve, time in BTJD/BKJD."""
        import lightkurve as lk

        return lk.LightCurveCollection([lc.to_lightkurve() for lc in self])

    # -- writing -------------------------------------------------------------------------------
    def write(
        self,
        path: str | Path,
        *,
        format: str = "parquet",
        overwrite: bool = False,
        name: str | None = None,
        lake: Any = None,
    ):  # -> WriteResult
        """Write the set (parquet, parquet-nested, csv, lightkurve-fits), its manifest beside it, and
        record it in the catalog as a named set (default name: the output's stem)."""
        from .output import write_set

        return write_set(self, Path(path), format=format, overwrite=overwrite, name=name, lake=lake)


def _has_nulls(table: pa.Table) -> bool:
    return table.column("tic_id").null_count > 0
