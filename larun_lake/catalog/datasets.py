"""The registered data files of an area as one pyarrow dataset, for the SQL surface.

DuckDB reads the lake's Parquet through these datasets rather than through its own
file system: the connection that runs a user's SQL is then given no file access at
all (DuckDB's `allowed_directories` would grant writes as well as reads). A dataset is
built from the catalog's file list without touching the files, so a missing file
fails only the queries that read it; partition pruning on mission/author/period and
row-group statistics still apply, because each file carries its Hive keys as a
partition expression.
"""

from __future__ import annotations

import base64
from pathlib import PurePosixPath

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from ..lake.storage import Storage
from ..schema import CADENCE_SCHEMA, tic_columns

CADENCE_KEYS = pa.schema([("mission", pa.string()), ("author", pa.string()), ("period", pa.string())])
TIC_KEYS = pa.schema([("hpx", pa.int32())])


def _partition_expression(relpath: str, keys: pa.Schema) -> ds.Expression:
    values = dict(part.split("=", 1) for part in PurePosixPath(relpath).parts if "=" in part)
    expression = ds.scalar(True)
    for field in keys:
        raw = values.get(field.name)
        value = None if raw is None else (int(raw) if pa.types.is_integer(field.type) else raw)
        expression = expression & (ds.field(field.name) == pa.scalar(value, field.type))
    return expression


def _dataset(store: Storage, relpaths: list[str], schema: pa.Schema, keys: pa.Schema) -> ds.Dataset:
    return ds.FileSystemDataset.from_paths(
        [store.path(p) for p in relpaths],
        schema=pa.unify_schemas([schema, keys]),
        format=ds.ParquetFileFormat(),
        filesystem=store.fs,
        partitions=[_partition_expression(p, keys) for p in relpaths],
    )


def cadence_dataset(store: Storage, relpaths: list[str]) -> ds.Dataset:
    return _dataset(store, relpaths, CADENCE_SCHEMA, CADENCE_KEYS)


SPECTRUM_KEYS = pa.schema([("mission", pa.string()), ("period", pa.string())])


def spectrum_dataset(store: Storage, relpaths: list[str], schema: pa.Schema) -> ds.Dataset:
    """Spectra or spectral time series: partitioned by mission and period only."""
    return _dataset(store, relpaths, schema, SPECTRUM_KEYS)


def tic_dataset(store: Storage, relpaths: list[str], known: pa.Schema | None = None) -> ds.Dataset:
    """TIC files carry MAST's columns; their union (by name), each column typed as MAST declares it
    (files of older harvests that stored an all-null batch as text are cast on reading).

    The union is recorded in the catalog as TIC rows are written (`known`), so opening the SQL surface
    reads no file; lakes from before that record read it from the files' footers (one request each)."""
    if known is None:
        schemas = []
        for relpath in relpaths:
            try:
                schemas.append(pq.read_schema(store.path(relpath), filesystem=store.fs))
            except OSError:  # missing or damaged: only queries that read it will fail
                continue
        known = union_of_tic_schemas(schemas)
    return _dataset(store, relpaths, known if len(known) else pa.schema([("ID", pa.int64())]), TIC_KEYS)


def union_of_tic_schemas(schemas: list[pa.Schema]) -> pa.Schema:
    declared = tic_columns()
    fields: dict[str, pa.DataType] = {}
    for schema in schemas:
        for field in schema:
            if field.name == "hpx":
                continue
            if field.name not in fields or pa.types.is_null(fields[field.name]):
                fields[field.name] = declared.get(field.name, field.type)
    return pa.schema(list(fields.items()))


def encode_schema(schema: pa.Schema) -> str:
    return base64.b64encode(schema.serialize().to_pybytes()).decode()


def decode_schema(text: str) -> pa.Schema:
    return pa.ipc.read_schema(pa.py_buffer(base64.b64decode(text)))
