"""Read-only SQL over a lake: an allowlist of statement types, checked by DuckDB's own parser,
run on a sandboxed connection that cannot reach files outside the lake's data folders."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import duckdb
import pyarrow as pa

from .catalog import Catalog
from .errors import QueryError, ReadOnlyViolation

_ALLOWED = {duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN}
# PRAGMAs that only report; anything else (enable_profiling, memory_limit, ...) changes state.
_READ_PRAGMAS = {
    "table_info",
    "show_tables",
    "show_tables_expanded",
    "database_list",
    "version",
    "functions",
    "storage_info",
    "show",
    "database_size",
    "platform",
    "user_agent",
    "metadata_info",
    "collations",
    "show_databases",
}
_PRAGMA_NAME = re.compile(r"^\s*pragma\s+([a-z_]+)", re.IGNORECASE)


def check_read_only(sql: str) -> list[str]:
    """Split a script into statements and refuse any that could change the lake."""
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as exc:
        raise QueryError(f"malformed SQL: {_first_line(exc)}", hint="check the statement's syntax") from exc
    if not statements:
        raise QueryError("empty SQL statement", hint="give a SELECT statement")
    out = []
    for st in statements:
        text = st.query.strip()
        if st.type == duckdb.StatementType.PRAGMA:
            m = _PRAGMA_NAME.match(text)
            if not m or m.group(1).lower() not in _READ_PRAGMAS:
                raise ReadOnlyViolation(
                    f"refused: PRAGMA {m.group(1) if m else ''} can change settings",
                    hint="the sql command only reads the lake",
                )
        elif st.type not in _ALLOWED:
            kind = st.type.name
            raise ReadOnlyViolation(
                f"refused: {kind} statements would change the lake or read outside it",
                hint="the sql command runs SELECT/WITH, EXPLAIN, DESCRIBE, SHOW, SUMMARIZE",
            )
        out.append(text)
    return out


def _first_line(exc: Exception) -> str:
    """DuckDB's error line, followed by its detail lines indented ("Did you mean ...", candidate
    bindings, the LINE/caret position marker, whose alignment the common indent keeps)."""
    lines = [line.rstrip() for line in str(exc).strip().splitlines() if line.strip()]
    if not lines:
        return type(exc).__name__
    detail = lines[1:]
    if len(detail) > _MAX_DETAIL_LINES:  # e.g. every overload of an operator
        detail = [*detail[: _MAX_DETAIL_LINES - 1], f"... {len(detail) - _MAX_DETAIL_LINES + 1} more lines"]
    return "\n".join([lines[0], *("    " + line for line in detail)])


_MAX_DETAIL_LINES = 12


@contextmanager
def user_sql_errors(what: str, *, refused_hint: str, failed_hint: str) -> Iterator[None]:
    """DuckDB errors of a user's statement as one-line domain errors (the sandbox refusing = ReadOnlyViolation)."""
    try:
        yield
    except duckdb.PermissionException as exc:
        raise ReadOnlyViolation(f"refused: {_first_line(exc)}", hint=refused_hint) from exc
    except duckdb.Error as exc:
        raise QueryError(f"{what} failed: {_first_line(exc)}", hint=failed_hint) from exc


@dataclass(frozen=True)
class QueryResult:
    """An eager result: usable after the catalog is closed."""

    table: pa.Table

    def arrow(self) -> pa.Table:
        return self.table

    def df(self):  # -> pandas.DataFrame
        return self.table.to_pandas()

    def pl(self):  # -> polars.DataFrame
        import polars as pl

        return pl.from_arrow(self.table)

    def fetchall(self) -> list[tuple]:
        columns = self.table.to_pydict()
        return list(zip(*columns.values(), strict=True)) if columns else []

    @property
    def columns(self) -> list[str]:
        return self.table.column_names

    def __len__(self) -> int:
        return self.table.num_rows


def run_sql(catalog: Catalog, sql: str, params: list | dict | None = None) -> QueryResult:
    """Run read-only statements; the last one's rows are returned."""
    statements = check_read_only(sql)
    errors = user_sql_errors(
        "query", refused_hint="queries may read only the lake's tables and views", failed_hint="see 'larun-lake sql --help'"
    )
    with catalog.read() as con, errors:
        for text in statements[:-1]:
            con.execute(text)
        rel = con.sql(statements[-1], params=params)
        table = rel.to_arrow_table() if rel is not None else pa.table({})
    return QueryResult(table)
