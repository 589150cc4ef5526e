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
from .errors import LakeDamagedError, QueryError, ReadOnlyViolation

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
# How a registered dataset reports a data file that has gone (pyarrow's message inside DuckDB's).
_MISSING_FILE = re.compile(r"Failed to open local file '([^']+)'.*No such file", re.DOTALL)
_PRAGMA_NAME = re.compile(r"^\s*pragma\s+([a-z_]+)", re.IGNORECASE)
# EXPLAIN, optionally ANALYZE and/or an option list such as (FORMAT json), before the statement it wraps.
_EXPLAIN_PREFIX = re.compile(r"^\s*explain\s+(?:\([^)]*\)\s*)?(?:analy[sz]e\b\s*)?(?:\([^)]*\)\s*)?", re.IGNORECASE)
# Comments before a statement's first keyword (anything odd after that fails the nested parse: refused).
_LEADING_COMMENTS = re.compile(r"^(?:\s+|--[^\n]*|/\*.*?\*/)*", re.DOTALL)


def check_read_only(sql: str) -> list[str]:
    """Split a script into statements and refuse any that could change the lake.

    EXPLAIN ANALYZE runs the statement it wraps, so a wrapped statement is checked like any other.
    (The connection that runs user SQL has no file access either; this check gives the clear message.)
    """
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as exc:
        raise QueryError(f"malformed SQL: {_first_line(exc)}", hint="check the statement's syntax") from exc
    if not statements:
        raise QueryError("empty SQL statement", hint="give a SELECT statement")
    out = []
    for st in statements:
        text = st.query.strip()
        _check_statement(st.type, text)
        out.append(text)
    return out


def _check_statement(kind: duckdb.StatementType, text: str) -> None:
    if kind == duckdb.StatementType.PRAGMA:
        m = _PRAGMA_NAME.match(_strip_comments(text))
        if not m or m.group(1).lower() not in _READ_PRAGMAS:
            raise ReadOnlyViolation(
                f"refused: PRAGMA {m.group(1) if m else ''} can change settings",
                hint="the sql command only reads the lake",
            )
    elif kind not in _ALLOWED:
        raise ReadOnlyViolation(
            f"refused: {kind.name} statements would change the lake or read outside it",
            hint="the sql command runs SELECT/WITH, EXPLAIN, DESCRIBE, SHOW, SUMMARIZE",
        )
    elif kind == duckdb.StatementType.EXPLAIN:
        inner = _EXPLAIN_PREFIX.sub("", _strip_comments(text), count=1)
        try:
            nested = duckdb.extract_statements(inner)
        except duckdb.Error as exc:
            raise ReadOnlyViolation("refused: the statement inside EXPLAIN could not be checked",
                                    hint="EXPLAIN a single SELECT") from exc
        if len(nested) != 1:
            raise ReadOnlyViolation("refused: EXPLAIN wraps more than one statement", hint="EXPLAIN a single SELECT")
        _check_statement(nested[0].type, nested[0].query.strip())


# Names through which a statement can reach data files: the data views, the table macro over them, and
# DuckDB's functions that name a table in a string. A false match only costs loading the data views.
_DATA_NAMES = re.compile(
    r"\b(cadences|cadence_rows|tic|tic_rows|tic_cone|spectra|spectrum_rows|spectral_timeseries|"
    r"spectral_timeseries_rows|query|query_table)\b",
    re.IGNORECASE,
)


def reads_data_files(statements: list[str]) -> bool:
    """Whether the statements may read cadence or TIC rows (else catalog tables only)."""
    return any(_DATA_NAMES.search(text) for text in statements)


def _strip_comments(text: str) -> str:
    return _LEADING_COMMENTS.sub("", text, count=1)


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
        missing = _MISSING_FILE.search(str(exc))
        if missing:
            raise LakeDamagedError(
                f"lake data file {missing.group(1)} is missing", hint="run 'larun-lake verify' to check the lake"
            ) from exc
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

    def _repr_html_(self) -> str:  # Jupyter shows the result as a table
        from .notebook import html_table

        return html_table(self.table)


def run_sql(catalog: Catalog, sql: str, params: list | dict | None = None) -> QueryResult:
    """Run one read-only statement and return its rows."""
    statements = check_read_only(sql)
    errors = user_sql_errors(
        "query", refused_hint="queries may read only the lake's tables and views", failed_hint="see 'larun-lake sql --help'"
    )
    if len(statements) > 1:  # only one result is returned, and a read-only statement cannot prepare the next
        raise QueryError(
            f"the SQL holds {len(statements)} statements; the sql command runs one at a time",
            hint="run them one by one, or join them with WITH or UNION ALL",
        )
    with catalog.read(data=reads_data_files(statements)) as con, errors:
        rel = con.sql(statements[0], params=params)
        table = rel.to_arrow_table() if rel is not None else pa.table({})
    return QueryResult(table)
