"""Formatting for the CLI: tables, CSV/JSON output, progress bars, summaries and error lines."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import pyarrow as pa
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn
from rich.table import Table

# Piped output is not squeezed to 80 columns.
out = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 200)
err = Console(stderr=True, soft_wrap=True, width=None if sys.stderr.isatty() else 200)

FORMATS = ("table", "csv", "json", "jsonl", "markdown", "parquet")


def human_bytes(n: float | None) -> str:
    n = float(n or 0)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"


def print_error(message: str) -> None:
    err.print(f"[bold red]error:[/] {message}", highlight=False, markup=True)


def print_rows(table: pa.Table, fmt: str, *, max_rows: int = 1000, output: str | None = None) -> None:
    if fmt == "parquet":
        import pyarrow.parquet as pq

        pq.write_table(table, output)
        return
    stream = open(output, "wb") if output else sys.stdout.buffer  # noqa: SIM115
    try:
        if fmt == "csv":
            # pandas quotes only where needed (pyarrow quotes every string)
            stream.write(table.to_pandas().to_csv(index=False, lineterminator="\n").encode())
        elif fmt in ("json", "jsonl"):
            rows = table.to_pylist()
            if fmt == "json":
                stream.write(json.dumps(rows, default=str, indent=1).encode() + b"\n")
            else:
                stream.write(b"".join(json.dumps(r, default=str).encode() + b"\n" for r in rows))
        elif fmt == "markdown":
            stream.write(_markdown(table, max_rows).encode())
        else:
            _rich_table(table, max_rows)
    finally:
        if output:
            stream.close()
        else:
            sys.stdout.flush()


def _cell(value: object) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def _markdown(table: pa.Table, max_rows: int) -> str:
    names = table.column_names
    lines = ["| " + " | ".join(names) + " |", "|" + "|".join("---" for _ in names) + "|"]
    for row in table.slice(0, max_rows).to_pylist():
        lines.append("| " + " | ".join(_cell(row[n]) for n in names) + " |")
    return "\n".join(lines) + "\n"


def _rich_table(table: pa.Table, max_rows: int) -> None:
    view = Table(show_lines=False, header_style="bold")
    for name in table.column_names:
        view.add_column(name, overflow="fold")
    for row in table.slice(0, max_rows).to_pylist():
        view.add_row(*(_cell(v) for v in row.values()))
    out.print(view)
    shown = min(table.num_rows, max_rows)
    note = f"{table.num_rows} row{'s' if table.num_rows != 1 else ''}"
    if shown < table.num_rows:
        note += f" ({shown} shown; use --max-rows or --format csv)"
    err.print(note, style="dim")


@contextmanager
def file_progress(total_files: int, total_bytes: int, *, enabled: bool, label: str) -> Iterator:
    """A progress bar with files, bytes, rate and ETA; a no-op callback when disabled."""
    if not enabled or total_files == 0:
        yield lambda files, nbytes: None
        return
    columns = [
        TextColumn(f"[bold]{label}"),
        BarColumn(),
        TextColumn("{task.fields[files]}/{task.fields[total_files]} files"),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    ]
    with Progress(*columns, console=err, transient=False) as progress:
        task = progress.add_task(label, total=total_bytes or None, files=0, total_files=total_files)

        def update(files: int, nbytes: int) -> None:
            progress.update(task, completed=nbytes, files=files)

        yield update


@contextmanager
def harvest_progress(*, enabled: bool, console: Console | None = None) -> Iterator:
    """The harvest's phase (searching, listing, downloading N of M, ingesting), bytes, rate and ETA.

    Yields a callback taking a harvest.progress.HarvestProgress, or None when disabled.
    """
    if not enabled:
        yield None
        return
    columns = [TextColumn("[bold]harvest[/] {task.description}"), BarColumn(), DownloadColumn(),
               TransferSpeedColumn(), TimeRemainingColumn()]
    with Progress(*columns, console=console or err) as progress:
        task = progress.add_task("searching", total=None)

        def update(state) -> None:
            progress.update(task, description=state.describe(), completed=state.bytes_done,
                            total=state.bytes_total or None)

        yield update
