"""Materialize: turn one SELECT over the lake into a reproducible set of light curves.

options.py          what to do to the cadences (flux column, mask, NaNs, normalise, bin, stitch)
select.py           the statement -> the set's members (current versions, where their rows sit)
plan.py             per-light-curve arrays and batches of whole light curves
frame.py            batches of cadences: read the row groups, mask and normalise; bin/stitch in DuckDB
assemble.py         a whole set as one pandas DataFrame
lightkurve_meta.py  lightkurve objects and meta
lcset.py            LightCurveSet: to_arrow/to_pandas/to_lightkurve, iteration, write
output.py           writers (parquet, parquet-nested, csv, lightkurve-fits), hidden until published
target.py           where a set goes: a local path (temp name + rename) or an object (upload completed last)
tasks.py            Parquet sets read by tasks on an executor (Dask), parts assembled by the client
sets.py             manifest, content hash, named sets in the catalog, change detection
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..catalog import Catalog
from .frame import DEFAULT_MEMORY_LIMIT
from .lcset import LightCurveSet, MaterializedLightCurve
from .options import BinWidthWarning, MaterializeOptions
from .output import FORMATS, WriteResult
from .plan import LONG_COLUMNS
from .select import Fetcher, require_members, resolve
from .sets import SetStatus, list_sets, set_status

if TYPE_CHECKING:
    from ..api import Lake

__all__ = [
    "FORMATS",
    "LONG_COLUMNS",
    "BinWidthWarning",
    "Fetcher",
    "LightCurveSet",
    "MaterializeOptions",
    "MaterializedLightCurve",
    "SetStatus",
    "WriteResult",
    "list_sets",
    "materialize",
    "set_status",
]


def materialize(
    lake: Lake,
    sql: str,
    *,
    flux: str = "auto",
    quality: str | int = "default",
    remove_nans: bool = True,
    normalize: bool | None = None,
    bin: str | float | None = None,
    stitch: bool = False,
    stitch_prefer: str | Sequence[str] | None = None,
    fetcher: Fetcher | None = None,
    threads: int | None = None,
    memory_limit: str | None = None,
) -> LightCurveSet:
    """Resolve `sql` (a SELECT returning lc_id, tic_id, or mission + target_id) into a LightCurveSet.

    flux: 'auto' (the lake's `flux`, lightkurve's default column), 'pdcsap', 'sap' or any flux
    column of the cadence schema; quality: none/default/hard/hardest or an integer bitmask;
    remove_nans drops NaN-flux cadences (NaN-time cadences are always dropped); normalize divides
    flux and flux_err by the masked median (off by default, on when stitching); bin ('10min', '30s'
    or seconds) averages within each light curve, with a BinWidthWarning when it is shorter than
    the cadence of some light curves; stitch joins, as lightkurve's LightCurveCollection.stitch()
    does, each target's normalized light curves of one pipeline and exposure time (one series per
    target, author and exptime_s, sorted by time); stitch_prefer ('SPOC:120,TESS-SPOC' or a list)
    stitches, per target, only the first of those kinds it has. With a fetcher, targets the lake
    lacks are passed to it as (mission, target_id) pairs and the selection runs again. The
    cadences are read only when the set is used (to_pandas, iteration, write, ...).
    """
    options = MaterializeOptions.create(
        flux=flux,
        quality=quality,
        remove_nans=remove_nans,
        normalize=normalize,
        bin=bin,
        stitch=stitch,
        stitch_prefer=stitch_prefer,
    )
    # DuckDB's threads and memory are set explicitly, for the catalog connection as for the engine's.
    threads = threads or os.cpu_count() or 2
    memory_limit = memory_limit or DEFAULT_MEMORY_LIMIT
    catalog = Catalog(lake.layout, wait_s=lake.catalog.wait_s, threads=threads, memory_limit=memory_limit)
    selection = resolve(catalog, sql, options, fetcher=fetcher)
    require_members(selection)
    note = options.check_bin_width(selection.members)
    if note:
        warnings.warn(note, BinWidthWarning, stacklevel=2)
    return LightCurveSet(catalog, selection, options, threads=threads, memory_limit=memory_limit, runner=lake._runner)
