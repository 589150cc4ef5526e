"""HTML tables for Jupyter (`_repr_html_` of query results and light-curve sets).

Only the rows shown are converted to Python: the first and last few of a long table, with a row of
ellipses between them and a line saying the full size, as pandas does. Every value is HTML-escaped
(target names, file names and SQL results are data, not markup) and long values are shortened.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Sequence
from typing import Any

import pyarrow as pa

MAX_ROWS = 20  # more than this: the first and last MAX_ROWS // 2
MAX_COLUMNS = 24  # more than this: the first and last MAX_COLUMNS // 2
MAX_CHARS = 80  # a longer value is cut, with an ellipsis
ELLIPSIS = "…"

RowView = Callable[[dict[str, Any]], dict[str, Any]]


def html_table(
    table: pa.Table,
    *,
    title: str | None = None,
    size: str | None = None,
    view: RowView | None = None,
    columns: Sequence[str] | None = None,
) -> str:
    """`table` as an HTML table: at most MAX_ROWS rows and MAX_COLUMNS columns, then a size line.

    `view` turns each shown row (a dict) into the cells to display, named by `columns` (default: the
    table's own); `size` replaces the default 'N rows × M columns' line."""
    names = list(columns or table.column_names)
    n = table.num_rows
    shown_names = _cut(names, MAX_COLUMNS)
    if n > MAX_ROWS:
        half = MAX_ROWS // 2
        head, tail = table.slice(0, half).to_pylist(), table.slice(n - half).to_pylist()
    else:
        head, tail = table.to_pylist(), []
    if view is not None:
        head, tail = [view(r) for r in head], [view(r) for r in tail]
    parts = ['<div class="larun-lake">']
    if title:
        parts.append(f"<p><b>{html.escape(title)}</b></p>")
    parts.append('<table border="1" class="dataframe">')
    header = "".join(f"<th>{html.escape(c) if c is not None else ELLIPSIS}</th>" for c in shown_names)
    parts.append(f'<thead><tr style="text-align: right;">{header}</tr></thead><tbody>')
    parts.extend(_row(r, shown_names) for r in head)
    if tail:
        parts.append("<tr>" + f"<td>{ELLIPSIS}</td>" * len(shown_names) + "</tr>")
        parts.extend(_row(r, shown_names) for r in tail)
    parts.append("</tbody></table>")
    line = size or f"{n:,} {'row' if n == 1 else 'rows'} × {len(names)} {'column' if len(names) == 1 else 'columns'}"
    parts.append(f"<p>{html.escape(line)}</p></div>")
    return "\n".join(parts)


def _cut(names: list[str], limit: int) -> list[str | None]:
    """The column names shown, None standing for the ones left out."""
    if len(names) <= limit:
        return list(names)
    half = limit // 2
    return [*names[:half], None, *names[-half:]]


def _row(row: dict[str, Any], names: list[str | None]) -> str:
    cells = "".join(f"<td>{cell(row.get(n)) if n is not None else ELLIPSIS}</td>" for n in names)
    return f"<tr>{cells}</tr>"


def cell(value: Any) -> str:
    """One value as escaped HTML text: NULL for missing values, floats with their significant digits."""
    if value is None:
        return "<i>NULL</i>"
    if isinstance(value, float):
        text = "NaN" if math.isnan(value) else f"{value:.10g}"
    elif isinstance(value, bytes):
        text = f"<{len(value)} bytes>"
    else:
        text = str(value)
    if len(text) > MAX_CHARS:
        text = text[: MAX_CHARS - 1] + ELLIPSIS
    return html.escape(text)
