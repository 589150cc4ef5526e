"""The `schema` command: every table, view and macro of the SQL surface, each column with its type,
unit and meaning (a thin shell over Lake.schema)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

import pyarrow as pa
import typer

from . import cli_output as ui
from .errors import UsageError

_KINDS = {"table": "catalog table", "view": "view", "macro": "macro", "table_macro": "table macro"}


def install(app: typer.Typer, handled: Callable) -> None:
    app.command("schema")(handled(schema_command))


def schema_command(
    ctx: typer.Context,
    table: Annotated[str | None, typer.Argument(help="Describe one table, view or macro (default: all).")] = None,
    fmt: Annotated[
        str, typer.Option("--format", help="text (grouped by table), or rows as table, csv, json, jsonl, markdown.")
    ] = "text",
) -> None:
    """Every table and view of the SQL surface, each column with its type, unit and meaning, and the macros."""
    if fmt != "text" and (fmt not in ui.FORMATS or fmt == "parquet"):
        raise UsageError(f"unknown --format {fmt!r}", hint="use text, table, csv, json, jsonl or markdown")
    rows = ctx.obj.lake().schema(table).arrow()
    if fmt != "text":
        ui.print_rows(rows, fmt, max_rows=rows.num_rows)
        return
    for line in schema_text(rows):
        ui.out.print(line, highlight=False, markup=False)


def schema_text(rows: pa.Table) -> list[str]:
    """Blocks of one table each: its name, kind and meaning, then one aligned line per column."""
    lines: list[str] = []
    blocks: dict[str, list[dict]] = {}
    for r in rows.to_pylist():
        blocks.setdefault(r["table_name"], []).append(r)
    for name, records in blocks.items():
        first = records[0]
        if lines:
            lines.append("")
        kind = _KINDS.get(first["table_type"], first["table_type"])
        lines.append(f"{name} ({kind}): {first['table_description'] or 'no description'}")
        columns = [r for r in records if r["column_name"] is not None]
        if not columns:
            continue
        width = max(len(r["column_name"]) for r in columns)
        type_width = max(len(r["data_type"]) for r in columns)
        unit_width = max(len(r["unit"] or "-") for r in columns)
        for r in columns:
            lines.append(
                f"  {r['column_name']:<{width}}  {r['data_type']:<{type_width}}  {r['unit'] or '-':<{unit_width}}  "
                f"{r['description'] or 'no description'}"
            )
    return lines
