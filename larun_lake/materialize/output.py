"""Writing a set: long Parquet, nested Parquet, CSV or a folder of lightkurve FITS files, plus the
manifest beside it and the named set in the catalog.

Everything is written under temporary names beside the output and renamed into place only at
the end, inside the catalog transaction that records the set, so a failure (bad input, a full
disk, Ctrl-C, a busy lake) leaves neither a half-written output nor a set without one.
"""

from __future__ import annotations

import itertools
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from ..errors import UsageError
from ..lake import files
from ..lake.outputs import check_output, remove_stale_temporaries, temporary_beside
from .lightkurve_meta import quiet_lightkurve
from .plan import CADENCE_FIELDS, DICTIONARY_FIELDS, PLAIN_SCHEMA
from .sets import build_manifest, existing_hash, record_set

if TYPE_CHECKING:
    from .lcset import LightCurveSet, MaterializedLightCurve

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
    path: Path
    manifest_path: Path
    format: str
    n_lightcurves: int
    n_units: int
    n_rows: int
    content_hash: str
    seconds: float


def manifest_path_for(path: Path) -> Path:
    return path.parent / f"{path.name}.manifest.json"


def write_set(
    lcs: LightCurveSet, path: Path, *, format: str = "parquet", overwrite: bool = False, name: str | None = None
) -> WriteResult:
    start = time.perf_counter()
    if format not in FORMATS:
        raise UsageError(f"unknown output format {format!r}", hint=f"use one of {', '.join(FORMATS)}")
    path = check_set_output(lcs.root, Path(path), format=format, overwrite=overwrite)
    name = name or (path.name if format == "lightkurve-fits" else path.stem)
    if not name or name.startswith("."):
        raise UsageError(f"cannot name a set after {path}", hint="pass --name")
    manifest_path = manifest_path_for(path)
    check_output(lcs.root, manifest_path, overwrite=overwrite)
    _check_name_free(lcs, name, overwrite)

    remove_stale_temporaries(path)
    tmp_data, tmp_manifest = temporary_beside(path), temporary_beside(manifest_path)
    try:
        files.make_dirs(path.parent)
        WRITERS[format](lcs, tmp_data)
        counts = lcs.rows_per_lightcurve or {}
        manifest = build_manifest(lcs, name=name, output=str(path), fmt=format, rows_per_lightcurve=counts)
        with files.open_output(tmp_manifest) as out:
            out.write(json.dumps(manifest, indent=1, default=str).encode() + b"\n")
        with lcs.catalog.write("materialize") as con:
            record_set(con, manifest, str(manifest_path))
            _publish(tmp_data, path, replace=overwrite)
            try:
                _publish(tmp_manifest, manifest_path, replace=overwrite)
            except BaseException:
                files.remove_any(path)  # no output without its manifest (the set record rolls back too)
                raise
    finally:
        for tmp in (tmp_data, tmp_manifest):
            files.remove_any(tmp)
    lcs.catalog.publish_snapshot()
    return WriteResult(
        name,
        path,
        manifest_path,
        format,
        lcs.members.num_rows,
        len(lcs),
        manifest["counts"]["rows"],
        manifest["content_hash"],
        time.perf_counter() - start,
    )


def check_set_output(lake_root: Path, path: Path, *, format: str, overwrite: bool) -> Path:
    """Where a set may be written (see lake.outputs): --overwrite replaces only an earlier set's file or folder."""
    folder = format == "lightkurve-fits"
    return check_output(lake_root, path, overwrite=overwrite, folder=folder, replaceable_folder=_earlier_fits_set,
                        replaceable_file=_earlier_set_file)


def _earlier_output(path: Path) -> dict | None:
    """The output entry of the manifest beside `path` when that manifest names `path`."""
    try:
        manifest = json.loads(manifest_path_for(path).read_text())
    except (OSError, ValueError):
        return None
    output = manifest.get("output") if isinstance(manifest, dict) else None
    if not isinstance(output, dict) or Path(str(output.get("path", ""))) != path:
        return None
    return output


def _earlier_set_file(path: Path) -> bool:
    """A file an earlier set wrote (never a user's file, nor another set's manifest)."""
    output = _earlier_output(path)
    return output is not None and output.get("format") != "lightkurve-fits"


def _earlier_fits_set(folder: Path) -> bool:
    """A folder an earlier lightkurve-fits set wrote: its manifest beside it names it, and it holds FITS files only."""
    output = _earlier_output(folder)
    if output is None or output.get("format") != "lightkurve-fits":
        return False
    return all(entry.is_file() and entry.name.endswith(".fits") for entry in folder.iterdir())


def _check_name_free(lcs: LightCurveSet, name: str, overwrite: bool) -> None:
    if overwrite:
        return
    old = existing_hash(lcs.catalog, name)
    if old is not None and old != lcs.content_hash:
        raise UsageError(
            f"a different set is already named {name!r}", hint="pass --name NAME, or --overwrite to replace it"
        )


def _publish(tmp: Path, final: Path, *, replace: bool) -> None:
    """Rename into place; a replaced folder is moved aside first (rename cannot replace a folder)."""
    aside = None
    if replace and files.is_dir(final):  # a folder cannot be renamed over: move the old one aside first
        aside = temporary_beside(final, "old")
        files.publish(final, aside)
    elif not replace and files.taken(final):
        raise UsageError(f"{final} appeared while writing", hint="pass --overwrite or choose another --out")
    files.publish(tmp, final)
    if aside is not None:
        files.remove_any(aside)


# -- writers -------------------------------------------------------------------------------------
def _write_parquet(lcs: LightCurveSet, tmp: Path) -> None:
    with pq.ParquetWriter(str(tmp), lcs.schema, **_PARQUET_OPTIONS) as writer:
        for table in lcs.iter_batches():
            writer.write_table(table, row_group_size=max(table.num_rows, 1))


def _write_csv(lcs: LightCurveSet, tmp: Path) -> None:
    with files.open_output(tmp) as stream, pacsv.CSVWriter(stream, PLAIN_SCHEMA) as writer:
        for table in lcs.iter_batches():
            writer.write_table(table.cast(PLAIN_SCHEMA))


def _write_nested(lcs: LightCurveSet, tmp: Path) -> None:
    with pq.ParquetWriter(str(tmp), NESTED_SCHEMA, compression="zstd") as writer:
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




WRITERS = {
    "parquet": _write_parquet,
    "parquet-nested": _write_nested,
    "csv": _write_csv,
    "lightkurve-fits": _write_fits,
}
