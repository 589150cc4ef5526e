"""Writing a set: long Parquet, nested Parquet, CSV or a folder of lightkurve FITS files, plus the
manifest beside it and the named set in the catalog.

The output goes to a local path or to object storage (target.py). It is written where it cannot be
seen (a temporary name beside it; an upload not yet completed) and appears only at the end, inside
the catalog transaction that records the set, so a failure (bad input, a full disk, Ctrl-C, a busy
lake, an unreachable store) leaves neither a half-written output nor a set without one.
"""

from __future__ import annotations

import itertools
import json
import os
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from ..errors import UsageError
from ..executors import TaskRunner
from ..lake import files
from ..layout import LakeLayout
from .lightkurve_meta import quiet_lightkurve
from .plan import CADENCE_FIELDS, DICTIONARY_FIELDS, PLAIN_SCHEMA
from .sets import build_manifest, existing_hash, record_set
from .target import FOLDER_FORMAT, LocalTarget, SetTarget, Staged, set_target
from .tasks import TaskEngine
from .timesystem import time_systems, with_time_systems

if TYPE_CHECKING:
    from .lcset import LightCurveSet, MaterializedLightCurve

RunnerFactory = Callable[[], AbstractContextManager[TaskRunner | None]]

FORMATS = ("parquet", "parquet-nested", "csv", "lightkurve-fits")
_FLOATS = ["time", "flux", "flux_err"]
# BYTE_STREAM_SPLIT for floats, dictionaries only for the ids, statistics where readers filter.
# zstd rather than the lake's LZ4: a set is written once and shared, so size counts more than
# encoding time here. Larger write batches save ~10 % of the (single-threaded) encoding.
_PARQUET_OPTIONS = dict(
    compression="zstd",
    use_dictionary=list(DICTIONARY_FIELDS),
    column_encoding={name: "BYTE_STREAM_SPLIT" for name in _FLOATS},
    write_statistics=["lc_id", "target_id", "tic_id", "time"],
    write_batch_size=65536,
)
NESTED_SCHEMA = pa.schema(
    [
        ("lc_id", pa.string()),
        ("mission", pa.string()),
        ("author", pa.string()),
        ("target_id", pa.int64()),
        ("tic_id", pa.int64()),
        ("period", pa.string()),
        ("time", pa.list_(pa.float64())),
        ("flux", pa.list_(pa.float32())),
        ("flux_err", pa.list_(pa.float32())),
        ("quality", pa.list_(pa.int32())),
        ("cadenceno", pa.list_(pa.int32())),
    ]
)


@dataclass(frozen=True)
class WriteResult:
    name: str
    path: Path | str  # a local path, or the object's URL
    manifest_path: Path | str
    format: str
    n_lightcurves: int
    n_units: int
    n_rows: int
    content_hash: str
    seconds: float


def write_set(
    lcs: LightCurveSet,
    out: str | os.PathLike[str],
    *,
    format: str = "parquet",
    overwrite: bool = False,
    name: str | None = None,
    runner: RunnerFactory | None = None,
) -> WriteResult:
    """Write the set to `out` (a local path or an object URL), its manifest beside it, and record it.

    With `runner` (a factory of the lake's executor, None for this process), Parquet in the long form
    is read by tasks on the executor (see tasks.py); everything else is read here."""
    start = time.perf_counter()
    if format not in FORMATS:
        raise UsageError(f"unknown output format {format!r}", hint=f"use one of {', '.join(FORMATS)}")
    target = set_target(out, lcs.catalog.layout)
    target.check(format=format, overwrite=overwrite)
    name = name or target.default_set_name(format)
    if not name or name.startswith("."):
        raise UsageError(f"cannot name a set after {target.display}", hint="pass --name")
    _check_name_free(lcs, name, overwrite)

    target.remove_stale_temporaries()
    data = target.stage(exclusive=not overwrite)
    manifest_file = target.stage_manifest(exclusive=not overwrite)
    use_tasks = runner is not None and format == "parquet"
    try:
        with target.failures():
            with runner() if use_tasks else nullcontext(None) as executor:
                _write_data(lcs, target, data, format, executor)
            counts = lcs.rows_per_lightcurve or {}
            manifest = build_manifest(lcs, name=name, output=target.display, fmt=format, rows_per_lightcurve=counts)
            with manifest_file.open() as stream:
                stream.write(json.dumps(manifest, indent=1, default=str).encode() + b"\n")
            # A remote lake's lease is held only while the set is recorded, not while it is written.
            with lcs.catalog.writing("materialize"):
                with lcs.catalog.write("materialize") as con:
                    record_set(con, manifest, target.manifest_display)
                    data.publish(replace=overwrite)
                    try:
                        manifest_file.publish(replace=overwrite)
                    except BaseException:
                        target.remove_output()  # no output without its manifest (the set record rolls back too)
                        raise
                lcs.catalog.publish_snapshot()
    finally:
        data.discard()
        manifest_file.discard()
    local = isinstance(target, LocalTarget)
    return WriteResult(
        name,
        Path(target.display) if local else target.display,
        Path(target.manifest_display) if local else target.manifest_display,
        format,
        lcs.members.num_rows,
        len(lcs),
        manifest["counts"]["rows"],
        manifest["content_hash"],
        time.perf_counter() - start,
    )


def _write_data(lcs: LightCurveSet, target: SetTarget, data: Staged, format: str, executor: TaskRunner | None) -> None:
    if format == FOLDER_FORMAT:
        _write_fits(lcs, data.path)
        return
    if executor is None:
        with data.open() as sink:
            FILE_WRITERS[format](lcs, sink)
        return
    store, prefix = target.parts_folder()
    engine = TaskEngine(
        lcs._plan, lcs.members, executor, store, prefix, threads=lcs.threads, memory_limit=lcs.memory_limit
    )
    try:
        engine.check_workers_reach()
        with data.open() as sink:
            _write_parquet(lcs, sink, engine)
    finally:
        store.delete_tree(prefix)


def check_target(out: str | os.PathLike[str], layout: LakeLayout, *, format: str, overwrite: bool) -> SetTarget:
    """The output checked as `write` will check it: for commands to refuse before any work."""
    target = set_target(out, layout)
    target.check(format=format, overwrite=overwrite)
    return target


def _check_name_free(lcs: LightCurveSet, name: str, overwrite: bool) -> None:
    if overwrite:
        return
    old = existing_hash(lcs.catalog, name)
    if old is not None and old != lcs.content_hash:
        raise UsageError(
            f"a different set is already named {name!r}", hint="pass --name NAME, or --overwrite to replace it"
        )


# -- writers -------------------------------------------------------------------------------------
def _write_parquet(lcs: LightCurveSet, sink, engine: TaskEngine | None = None) -> None:
    schema = with_time_systems(lcs.schema, time_systems(lcs.members))
    with pq.ParquetWriter(sink, schema, **_PARQUET_OPTIONS) as writer:
        for table in lcs.iter_batches(engine):
            writer.write_table(table, row_group_size=max(table.num_rows, 1))


def _write_csv(lcs: LightCurveSet, sink) -> None:
    with pacsv.CSVWriter(sink, PLAIN_SCHEMA) as writer:
        for table in lcs.iter_batches():
            writer.write_table(table.cast(PLAIN_SCHEMA))


def _write_nested(lcs: LightCurveSet, sink) -> None:
    schema = with_time_systems(NESTED_SCHEMA, time_systems(lcs.members))
    with pq.ParquetWriter(sink, schema, compression="zstd") as writer:
        for units in lcs.iter_unit_batches():
            writer.write_table(nested_table(units))


def nested_table(units: list[MaterializedLightCurve]) -> pa.Table:
    """One row per light curve (or stitched target), cadence columns as lists."""
    lengths = [len(u) for u in units]
    offsets = pa.array(list(itertools.accumulate(lengths, initial=0)), pa.int32())
    long = pa.concat_tables([u.table for u in units]) if units else PLAIN_SCHEMA.empty_table()
    scalars = {
        "lc_id": [u.lc_id for u in units],
        "mission": [u.members[0]["mission"] for u in units],
        "author": ["+".join(dict.fromkeys(m["author"] for m in u.members)) for u in units],
        "target_id": [u.members[0]["target_id"] for u in units],
        "tic_id": [u.members[0]["tic_id"] for u in units],
        "period": ["+".join(m["period"] for m in u.members) for u in units],
    }
    columns = [pa.array(scalars[f.name], f.type) for f in NESTED_SCHEMA if f.name in scalars]
    for name in CADENCE_FIELDS:
        columns.append(pa.ListArray.from_arrays(offsets, long.column(name).combine_chunks()))
    return pa.Table.from_arrays(columns, schema=NESTED_SCHEMA)


def _write_fits(lcs: LightCurveSet, tmp: Path) -> None:
    files.make_dirs(tmp)
    with quiet_lightkurve():
        for unit in lcs:
            lc = unit.to_lightkurve()
            extra = {"LCID": unit.lc_id[:68], "QUALMASK": str(unit.meta["QUALITY_BITMASK"])}
            if unit.meta["MISSION"] == "TESS":
                extra["TICID"] = unit.meta["TARGETID"]
            lc.to_fits(str(tmp / fits_name(unit)), overwrite=True, **extra)


def fits_name(unit: MaterializedLightCurve) -> str:
    """File name of a light curve in a lightkurve-fits folder (no ':' so any filesystem takes it)."""
    stitched = "+" in unit.lc_id
    meta = unit.meta  # one stitched series per target, pipeline and exposure time
    base = (
        f"{meta['MISSION']}_{meta['TARGETID']}_{meta['AUTHOR']}_{meta['EXPOSURE_S']}_stitched"
        if stitched
        else unit.lc_id.replace(":", "_")
    )
    return f"{base}.fits"


FILE_WRITERS = {
    "parquet": _write_parquet,
    "parquet-nested": _write_nested,
    "csv": _write_csv,
}
