"""Formatting for the CLI: tables, CSV/JSON output, progress bars, summaries and error lines."""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import fields
from decimal import Decimal
from pathlib import Path
from typing import Annotated

import numpy as np
import pyarrow as pa
import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn
from rich.table import Table

from .cli_clock import command_seconds
from .lake import files
from .lake.outputs import remove_stale_temporaries, temporary_beside

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
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False, markup=True)


def print_rows(
    table: pa.Table, fmt: str, *, max_rows: int = 1000, output: Path | None = None, more: str | None = None
) -> None:
    """Rows in one of FORMATS to stdout, or to `output` (a checked path: see lake.outputs) through a
    temporary renamed into place; `more` says how to see rows beyond `max_rows` with this command."""
    if output is None:
        _write_rows(table, fmt, sys.stdout.buffer, max_rows, more)
        sys.stdout.flush()
        return
    remove_stale_temporaries(output)
    tmp = temporary_beside(output)
    try:
        if fmt == "parquet":
            import pyarrow.parquet as pq

            pq.write_table(table, str(tmp))
        else:
            with files.open_output(tmp) as stream:
                _write_rows(table, fmt, stream, max_rows, more)
        files.publish(tmp, output)
    finally:
        files.remove_any(tmp)


def _write_rows(table: pa.Table, fmt: str, stream, max_rows: int, more: str | None) -> None:
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
    elif stream is sys.stdout.buffer:
        _rich_table(table, max_rows, more)
    else:
        stream.write(_markdown(table, max_rows).encode())  # a table into a file: the plain-text layout


def float_text(value: float, precision: type = np.float64) -> str:
    """The shortest text that reads back as the same number at the column's precision (so times
    2 minutes apart never print alike); positional below 1e15, as BJDs and ids should read."""
    if not math.isfinite(value):
        return str(value)
    number = precision(value)
    if value == 0 or 1e-4 <= abs(value) < 1e15:
        return np.format_float_positional(number, unique=True, trim="0")
    return np.format_float_scientific(number, unique=True, trim="0")


def _formatter(kind: pa.DataType) -> Callable[[object], str]:
    precision = {pa.float16(): np.float16, pa.float32(): np.float32}.get(kind, np.float64)

    def cell(value: object) -> str:
        if value is None:
            return "NULL"
        if isinstance(value, float):
            return float_text(value, precision)
        return str(value)

    return cell


def _text_rows(table: pa.Table, max_rows: int) -> list[list[str]]:
    shown = table.slice(0, max_rows)
    columns = [list(map(_formatter(col.type), col.to_pylist())) for col in shown.columns]
    return [list(row) for row in zip(*columns, strict=True)] if columns else []


def _markdown(table: pa.Table, max_rows: int) -> str:
    names = table.column_names
    lines = ["| " + " | ".join(names) + " |", "|" + "|".join("---" for _ in names) + "|"]
    for row in _text_rows(table, max_rows):
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines) + "\n"


def _rich_table(table: pa.Table, max_rows: int, more: str | None) -> None:
    names = table.column_names
    rows = _text_rows(table, max_rows)
    widths = [
        max([len(name), *(len(line) for row in rows for line in row[i].splitlines())]) for i, name in enumerate(names)
    ]
    if sum(w + 3 for w in widths) + 1 > out.width:
        _vertical(names, rows)  # a squeezed grid would fold every value into one-character columns
    else:
        view = Table(show_lines=False, header_style="bold")
        for name in names:
            view.add_column(name, overflow="fold")
        for row in rows:
            view.add_row(*row)
        out.print(view)
    note = f"{table.num_rows} row{'s' if table.num_rows != 1 else ''}"
    if len(rows) < table.num_rows:
        note += f" ({len(rows)} shown{'; ' + more if more else ''})"
    err.print(note, style="dim", highlight=False, markup=False)


def _vertical(names: list[str], rows: list[list[str]]) -> None:
    """One block per row, one line per column: readable however many columns there are."""
    width = max(map(len, names))
    if not rows:
        out.print("columns: " + ", ".join(names), highlight=False, markup=False)
    for number, row in enumerate(rows, 1):
        out.print(f"-[ row {number} ]" + "-" * max(0, width - 4), highlight=False, markup=False)
        for name, value in zip(names, row, strict=True):
            out.print(f"{name:<{width}} | {value}", highlight=False, markup=False)


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


# --- --json: one object on stdout per command ---------------------------------------------------
# Every command's object has the same top-level keys (the README's table), then its own fields.
PROBLEM_KEYS = ("item", "state", "reason")  # item: the file path, URI, product or id concerned
STATE_COUNTS = ("ingested", "unchanged", "superseded", "skipped", "failed", "quarantined", "cadences")


AsJson = Annotated[
    bool, typer.Option("--json", help="Print one JSON object on stdout (keys in the README) instead of the summary.")
]


def command_name(ctx) -> str:
    """The command as typed after the program name ('import', 'harvest lightcurves'): the --json `command`."""
    return " ".join(ctx.command_path.split()[1:])


def print_json(payload: dict) -> None:
    sys.stdout.write(json.dumps(_plain(payload), indent=2, default=str) + "\n")
    sys.stdout.flush()


def print_report_json(command: str, report: object, *, exit_code: int, **extra: object) -> None:
    """The --json object of `report` (an import, harvest, TIC, verify, materialize, status or set report)."""
    counts, problems, own = _report_parts(report)
    payload = {
        "command": command,
        "run_id": own.pop("run_id", None),
        "ok": exit_code == 0,
        "exit_code": exit_code,
        "counts": counts,
        "problems": [dict(zip(PROBLEM_KEYS, p, strict=True)) for p in problems],
        "timings": {"seconds": round(command_seconds(), 3)},  # the whole command, as the human summary says
    }
    payload.update(own)
    payload.update(extra)
    print_json(payload)


def print_table_json(command: str, key: str, table: pa.Table) -> None:
    """A listing command's --json object: its rows under `key`, their number in counts."""
    print_report_json(command, None, exit_code=0, counts={key: table.num_rows}, **{key: table.to_pylist()})


def print_json_error(command: str, message: str, exit_code: int) -> None:
    """What --json prints on stdout when a command fails before it has a report (the one-line error is on stderr)."""
    print_json({"command": command, "ok": False, "exit_code": exit_code, "error": message})


def _report_parts(report: object) -> tuple[dict, list, dict]:
    """(counts, problems as (item, state, reason), the report's own fields) of any report the CLI prints."""
    # Imported here: the report modules bring astropy and pandas, which `sql` and `--help` never need.
    from .harvest.tic import TicReport
    from .ingest.commit import Counts
    from .lake.verify import VerifyReport
    from .materialize.output import WriteResult
    from .materialize.sets import SetStatus
    from .status import StatusReport

    if report is None:  # a listing: the caller gives counts and rows
        return {}, [], {}
    if isinstance(report, Counts):  # import and every product harvest
        own = {f.name: getattr(report, f.name) for f in fields(report)}
        counts = {name: own.pop(name) for name in STATE_COUNTS}
        own.pop("seconds", None)
        return counts, own.pop("problems"), own
    if isinstance(report, TicReport):
        missing = [(f"TIC {i}", "not_found", "MAST returned no row for this TIC id") for i in report.not_found]
        counts = {"fetched": report.fetched, "new": report.new, "replaced": report.replaced,
                  "not_found": len(report.not_found)}
        return counts, missing, {"run_id": report.run_id, "metadata_requests": report.requests,
                                 "not_found": report.not_found}
    if isinstance(report, VerifyReport):
        return _verify_parts(report)
    if isinstance(report, WriteResult):
        counts = {"lightcurves": report.n_lightcurves, "rows": report.n_rows}
        return counts, [], {"set": report.name, "n_lightcurves": report.n_lightcurves, "rows": report.n_rows,
                            "n_series": report.n_units, "out": report.path, "manifest": report.manifest_path,
                            "format": report.format, "content_hash": report.content_hash}
    if isinstance(report, SetStatus):
        return _set_status_parts(report)
    if isinstance(report, StatusReport):
        counts = {"lightcurves": report.n_lightcurves, **(report.others or {})}
        return counts, [], report.to_dict()
    raise TypeError(f"no JSON form for {type(report).__name__}")


_VERIFY_PROBLEMS = {  # report field -> (state, reason)
    "missing": ("missing", "data file gone: run verify --forget-missing, then import or harvest again"),
    "corrupt": ("corrupt", "checksum or row count differs from the catalog: import or harvest again"),
    "kept_missing": ("missing", "kept pixel file gone: import or harvest it again"),
    "kept_corrupt": ("corrupt", "kept pixel file differs from the file ingested: import or harvest it again"),
    "incomplete": ("incomplete", "holds rows the catalog does not account for: see rebuild-catalog"),
    "unknown": ("unknown", "written by a run this catalog never recorded; kept: see rebuild-catalog"),
}


def _verify_parts(report) -> tuple[dict, list, dict]:
    problems = [(rel, state, reason) for name, (state, reason) in _VERIFY_PROBLEMS.items()
                for rel in getattr(report, name)]
    if report.foreign:
        problems.append((report.foreign, "foreign", "the catalog belongs to another lake: see rebuild-catalog"))
    counts = {"checked_files": report.checked_files, "kept_checked": report.kept_checked,
              "repairs": len(report.repairs), **{name: len(getattr(report, name)) for name in _VERIFY_PROBLEMS}}
    own = {f.name: getattr(report, f.name) for f in fields(report) if f.name not in ("checked_files", "kept_checked")}
    return counts, problems, {"consistent": report.consistent, "repairs": report.repairs, **own}


def _set_status_parts(status) -> tuple[dict, list, dict]:
    problems = []
    if status.error:
        problems.append((status.name, "failed", f"the selection no longer runs: {status.error}"))
    if status.output_gone:
        problems.append((status.record["output_path"], "missing", "the set's output is no longer there"))
    counts = {"superseded": len(status.superseded), "added": len(status.added), "removed": len(status.removed)}
    own = {"name": status.name, "changed": status.changed, "recorded_hash": status.record["content_hash"],
           "current_hash": status.current_hash, "superseded": status.superseded, "added": status.added,
           "removed": status.removed, "error": status.error, "output_gone": status.output_gone,
           "record": status.record}
    return counts, problems, own


def _plain(value: object) -> object:
    """JSON-ready: no NaN or infinity (null instead), numpy scalars as numbers, paths and times as text."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, bool | int | float | str) or value is None:
        return value
    if isinstance(value, Decimal):
        return float(value)
    if hasattr(value, "isoformat"):  # dates and times from the catalog
        return value.isoformat()
    return str(value)
