"""The described schema: every table, view and macro of the SQL surface with its columns' types, units
and meanings (`larun-lake schema`, `Lake.schema()`).

Names and types come from DuckDB's own catalog functions on a connection with the full surface, so
they cannot drift from the lake; the meanings and units are data in sql/schema/descriptions.sql,
loaded into TEMP tables of that connection only when asked (no cost to other reads).
"""

from __future__ import annotations

import pyarrow as pa

from .catalog import Catalog
from .errors import UsageError
from .sqlfiles import load_sql


def describe_schema(catalog: Catalog, table: str | None = None) -> pa.Table:
    """One row per column of each table and view (and one per macro): table_name, table_type,
    table_description, column_name, data_type, unit, description."""
    with catalog.read(sandbox=False) as con:
        con.execute(load_sql("schema/descriptions.sql"))
        rows = con.sql(load_sql("schema/surface.sql"), params={"table": table}).to_arrow_table()
    if table is not None and rows.num_rows == 0:
        raise UsageError(
            f"no table, view or macro named {table!r} in the SQL surface", hint="run 'larun-lake schema' to list them"
        )
    return rows
