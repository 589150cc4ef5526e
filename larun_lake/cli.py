"""The `larun-lake` command: a thin shell over `larun_lake.Lake`.

Each command parses its options, calls one API method and formats the result.
One error boundary (`report_failure`, applied by `main` around the whole app) turns
every failure into one red line and its exit code; --debug adds the traceback and
keeps the exit code.
"""

from __future__ import annotations

import functools
import os
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer
import typer.main

from . import cli_output as ui
from .api import Lake
from .cli_clock import command_seconds
from .cli_help import HumanGroup
from .cli_sqltext import print_examples, sql_text
from .config import Settings
from .errors import (
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_PARTIAL,
    EXIT_USAGE,
    FileSystemError,
    LarunLakeError,
    UsageError,
)
from .ingest.importer import discover
from .lake.outputs import check_output
from .lake.verify import VerifyReport

try:  # recent typer carries its own copy of click
    from typer._click import exceptions as click_errors
except ImportError:  # pragma: no cover - typer releases that use click itself
    from click import exceptions as click_errors

app = typer.Typer(
    name="larun-lake",
    help="A local data lake for TESS, Kepler and K2 light curves: import, harvest, query with SQL, materialize.",
    no_args_is_help=True,
    add_completion=True,
    cls=HumanGroup,  # metavars in words, not Python types
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


@dataclass
class CliState:
    settings: Settings
    debug: bool
    quiet: bool

    def lake(self) -> Lake:
        return Lake(settings=self.settings)


# --debug as soon as it is parsed, so the boundary knows it even when the global options fail.
_debug_requested = False


def _remember_debug(value: bool) -> bool:
    global _debug_requested
    _debug_requested = _debug_requested or value
    return value


def report_failure(exc: BaseException, *, debug: bool, json_command: str | None = None) -> int:
    """The error boundary: say what went wrong in one line (after the traceback, with --debug); return the exit code.

    Domain errors carry their own code; command-line mistakes are usage errors; a path the command
    cannot create, read or write is a lake/configuration problem; anything else is a bug. Given
    `json_command` (the command ran with --json), the error is also printed as a JSON object on stdout.
    """
    code, message = _failure(exc, debug=debug)
    if message is not None:
        ui.print_error(message)
        if json_command is not None:
            ui.print_json_error(json_command, message, code)
    return code


def _failure(exc: BaseException, *, debug: bool) -> tuple[int, str | None]:
    if isinstance(exc, KeyboardInterrupt | typer.Abort):
        return EXIT_INTERRUPTED, "interrupted"
    if isinstance(exc, BrokenPipeError):  # the reader of our output went away (e.g. `| head`): nothing failed
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK, None
    if isinstance(exc, click_errors.NoArgsIsHelpError):
        exc.show()
        return EXIT_USAGE, None
    if isinstance(exc, click_errors.ClickException):
        ctx = getattr(exc, "ctx", None)
        where = ctx.command_path if ctx is not None else "larun-lake"
        return EXIT_USAGE, f"{exc.format_message()} (see '{where} --help')"
    error = _as_domain_error(exc)
    if debug:
        traceback.print_exception(exc)
    if error is not None:
        return error.exit_code, str(error)
    text = str(exc).strip().splitlines()
    return EXIT_INTERNAL, (
        f"internal error: {type(exc).__name__}{': ' + text[0] if text else ''} (a bug in LARUN Lake: "
        "please rerun with --debug and file an issue with the traceback)"
    )


def _as_domain_error(exc: BaseException) -> LarunLakeError | None:
    if isinstance(exc, LarunLakeError):
        return exc
    # errno-carrying OSErrors come from the file system (network failures are MAST errors by then).
    if isinstance(exc, OSError) and exc.errno is not None and not isinstance(exc, ConnectionError | TimeoutError):
        return FileSystemError.from_os_error(exc)
    return None


def handled(fn):
    """Run a command inside the error boundary (also when the app is driven without main(), as tests do)."""

    @functools.wraps(fn)
    def wrapper(ctx: typer.Context, *args, **kwargs):
        try:
            return fn(ctx, *args, **kwargs)
        except (typer.Exit, typer.Abort):
            raise
        except (Exception, KeyboardInterrupt) as exc:
            debug = getattr(ctx.obj, "debug", _debug_requested)
            json_command = ui.command_name(ctx) if kwargs.get("as_json") else None
            raise typer.Exit(report_failure(exc, debug=debug, json_command=json_command)) from None

    return wrapper


def _print_versions(value: bool) -> None:
    """--version: the software versions an import or harvest records in `runs`."""
    if value:
        from .catalog.runs import software_versions

        versions = sorted(software_versions().items(), key=lambda item: item[0] != "larun_lake_version")
        for column, number in versions:
            name = column.removesuffix("_version").replace("_", "-")
            ui.out.print(f"{name} {number or 'not installed'}", highlight=False)
        raise typer.Exit(EXIT_OK)


@app.callback()
def main_options(
    ctx: typer.Context,
    lake: Annotated[
        str | None,
        typer.Option("--lake", help="Lake folder or object-store URL, s3://BUCKET/PREFIX (env LARUN_LAKE; "
                     "default ./data/lake)."),
    ] = None,
    catalog: Annotated[
        str | None,
        typer.Option(help="The catalog file (env LARUN_LAKE_CATALOG; default <lake>/catalog.duckdb, or a file in "
                     "the user's cache folder for a lake on object storage)."),
    ] = None,
    executor: Annotated[
        str | None,
        typer.Option(help="Where per-file work runs: local (a process pool, the default) or dask "
                     "(env LARUN_LAKE_EXECUTOR)."),
    ] = None,
    scheduler: Annotated[
        str | None,
        typer.Option(help="Dask scheduler address, tcp://HOST:8786 (env LARUN_LAKE_SCHEDULER; default: a local "
                     "cluster sized to this machine)."),
    ] = None,
    wait: Annotated[float | None, typer.Option(help="Seconds to wait for a busy lake (env LARUN_LAKE_WAIT).")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress display; errors and summary only.")] = False,
    debug: Annotated[
        bool,
        typer.Option(
            help="Show the traceback before the one-line error (exit codes stay the same).",
            is_eager=True,
            callback=_remember_debug,
        ),
    ] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_print_versions,
            is_eager=True,
            help="Print the versions of larun-lake and the libraries it records with each run, then exit.",
        ),
    ] = False,
) -> None:
    """Global options come before the command: larun-lake --lake PATH COMMAND ..."""
    ctx.obj = CliState(
        Settings.resolve(lake, wait_s=wait, catalog=catalog, executor=executor and executor.strip().lower(),
                         scheduler=scheduler),
        debug,
        quiet,
    )


@app.command("import")
@handled
def import_cmd(
    ctx: typer.Context,
    paths: Annotated[list[Path], typer.Argument(help="FITS files and folders (searched recursively), any mix.")],
    workers: Annotated[int, typer.Option(help="Files read in parallel (0: automatic).")] = 0,
    aperture: Annotated[
        str,
        typer.Option(
            help="Pixels summed into a pixel file's light curve: default (the pipeline aperture, else lightkurve's "
            "threshold mask), pipeline, threshold, all, or a mask file (.npy, or a text grid of 0/1)."
        ),
    ] = "default",
    as_json: ui.AsJson = False,
) -> None:
    """Ingest FITS files already on disk (lightkurve caches, MAST downloads): light curves, target pixel files and
    TESScut cutouts. Files are never changed; pixel files are copied into the lake's raw area."""
    state: CliState = ctx.obj
    lake = state.lake()
    found = discover(paths)
    total_bytes = sum(p.stat().st_size for p in found)
    enabled = not state.quiet and sys.stderr.isatty()
    with ui.file_progress(len(found), total_bytes, enabled=enabled, label="import") as progress:
        report = lake.import_files(found, workers=workers, progress=progress, aperture=aperture)
    code = EXIT_INTERRUPTED if report.interrupted else EXIT_OK if report.ok else EXIT_PARTIAL
    if as_json:
        ui.print_report_json(ui.command_name(ctx), report, exit_code=code)
        raise typer.Exit(code)
    for path, status, reason in report.problems:
        if status != "skipped" or not state.quiet:
            ui.err.print(f"{status}: {path}: {reason}", highlight=False, markup=False)
    seconds = command_seconds()  # the whole command the user waited for, lake creation and start-up included
    rate = report.n_files / seconds if seconds else 0.0
    ui.err.print(
        f"import {report.run_id}: {report.ingested} ingested ({report.superseded} superseding older versions), "
        f"{report.unchanged} unchanged, {report.skipped} skipped, {report.quarantined} quarantined, "
        f"{report.failed} failed; {report.n_files} files, {ui.human_bytes(report.bytes_read)} in "
        f"{seconds:.1f} s ({rate:.0f} files/s)",
        highlight=False,
        markup=False,
    )
    raise typer.Exit(code)


@app.command()
@handled
def status(
    ctx: typer.Context,
    by_period: Annotated[bool, typer.Option("--by-period", help="One row per mission/author/period.")] = False,
    as_json: ui.AsJson = False,
) -> None:
    """What the lake holds: light curves by mission/author/period, product states, bytes on disk."""
    report = ctx.obj.lake().status()
    if as_json:
        ui.print_report_json(ui.command_name(ctx), report, exit_code=EXIT_OK)
        return
    import pyarrow as pa

    ui.out.print(f"lake {report.lake}: {report.n_lightcurves} light curves", highlight=False)
    rows = report.by_period if by_period else report.by_kind
    if rows:
        ui.print_rows(pa.Table.from_pylist(rows), "table")
    others = {k.replace("_", " "): v for k, v in (report.others or {}).items() if v}
    if others:
        ui.out.print("also: " + ", ".join(f"{v} {k}" for k, v in others.items()), highlight=False)
    states = ", ".join(f"{k} {v}" for k, v in report.products.items()) or "none"
    ui.out.print(f"products: {states}", highlight=False)
    disk = ", ".join(f"{k} {ui.human_bytes(v)}" for k, v in report.disk_bytes.items())
    ui.out.print(f"disk: {disk}", highlight=False)
    if report.last_run:
        r = report.last_run
        ui.out.print(f"last run: {r['run_id']} {r['command']} {r['status']}", highlight=False)


@app.command()
@handled
def sql(
    ctx: typer.Context,
    query: Annotated[
        str | None, typer.Argument(help="SQL text (SELECT/WITH, EXPLAIN, DESCRIBE, SHOW, SUMMARIZE).")
    ] = None,
    file: Annotated[Path | None, typer.Option("--file", "-f", help="Read the SQL from a file (- for stdin).")] = None,
    example: Annotated[
        str | None, typer.Option(help="Run a shipped example query by name ('list' lists them).")
    ] = None,
    list_examples: Annotated[bool, typer.Option("--list-examples", help="List the shipped example queries.")] = False,
    fmt: Annotated[str, typer.Option("--format", help=f"Output format: {', '.join(ui.FORMATS)}.")] = "table",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to a file instead of stdout.")] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing --output file.")] = False,
    max_rows: Annotated[int, typer.Option(help="Rows shown by the table/markdown formats.")] = 1000,
) -> None:
    """Run read-only SQL over the lake (tables: lightcurves, cadences, products, runs, quality_bits, ...)."""
    if list_examples or example == "list":
        print_examples()
        return
    query = sql_text(query, file, example, what="query", command="sql")
    if fmt not in ui.FORMATS:
        raise UsageError(f"unknown --format {fmt!r}", hint=f"use one of {', '.join(ui.FORMATS)}")
    if fmt == "parquet" and output is None:
        raise UsageError("--format parquet needs --output FILE")
    lake = ctx.obj.lake()
    if output is not None:
        output = check_output(lake.path, output, overwrite=overwrite, option="--output")
    result = lake.sql(query)
    ui.print_rows(result.arrow(), fmt, max_rows=max_rows, output=output, more="use --max-rows or --format csv")


@app.command()
@handled
def verify(
    ctx: typer.Context,
    checksums: Annotated[bool, typer.Option(help="Re-hash every data file (slower).")] = True,
    forget_missing: Annotated[
        bool, typer.Option(help="Drop light curves whose data file is gone, so they are fetched again.")
    ] = False,
    as_json: ui.AsJson = False,
) -> None:
    """Check the catalog against the data files; remove orphans and stale staging; report damage."""
    report = ctx.obj.lake().verify(checksums=checksums, forget_missing=forget_missing)
    code = EXIT_OK if report.consistent else EXIT_PARTIAL
    if as_json:
        ui.print_report_json(ui.command_name(ctx), report, exit_code=code)
        raise typer.Exit(code)
    for line in report.repairs:
        ui.out.print(f"repaired: {line}", highlight=False)
    for rel in report.missing:
        ui.err.print(f"missing: {rel} (run verify --forget-missing, then import or harvest again)", highlight=False)
    _print_verify(report)
    raise typer.Exit(code)


def _print_verify(report: VerifyReport) -> None:
    for rel in report.corrupt:
        ui.err.print(f"corrupt: {rel} (checksum or row count differs from the catalog; import or harvest its "
                     "light curves again to repair it)", highlight=False)
    rebuild = "the catalog looks damaged: nothing was deleted; see 'larun-lake rebuild-catalog --help'"
    if report.foreign:
        ui.err.print(f"foreign catalog: {report.foreign} ({rebuild})", highlight=False)
    for rel in report.incomplete:
        ui.err.print(f"incomplete: {rel} holds rows the catalog does not account for ({rebuild})", highlight=False)
    for rel in report.kept_missing:
        ui.err.print(f"missing: kept pixel file {rel} (import or harvest it again: that writes it back)",
                     highlight=False)
    for rel in report.kept_corrupt:
        ui.err.print(f"corrupt: kept pixel file {rel} differs from the file ingested (import or harvest it again: "
                     "that writes it back)", highlight=False)
    for rel in report.unknown:
        ui.err.print(f"unknown: {rel} was written by a run this catalog never recorded; kept ({rebuild})",
                     highlight=False)
    verdict = "consistent" if report.consistent else "NOT consistent"
    kept = f" and {report.kept_checked} kept pixel files" if report.kept_checked else ""
    ui.out.print(
        f"verify: {report.checked_files} data files{kept} checked, {len(report.repairs)} repairs, lake {verdict}",
        highlight=False,
    )


@app.command("rebuild-catalog")
@handled
def rebuild_catalog_cmd(ctx: typer.Context) -> None:
    """Rebuild a lost or unreadable catalog from the lake's latest snapshot (<lake>/_catalog), then verify it.
    An unreadable catalog file is kept beside it, renamed; data files are never deleted by this command."""
    report = ctx.obj.lake().rebuild_catalog()
    if report.kept_damaged:
        ui.err.print(f"kept the unreadable catalog as {report.kept_damaged}", highlight=False)
    restored = ", ".join(f"{k} {v}" for k, v in report.restored.items() if v)
    ui.out.print(f"rebuilt the catalog from snapshot {report.snapshot}: {restored}", highlight=False)
    _print_verify(report.verify)
    raise typer.Exit(EXIT_OK if report.verify.consistent else EXIT_PARTIAL)


from . import cli_forget, cli_harvest, cli_schema, cli_sets  # noqa: E402  (commands register themselves)

cli_harvest.register(app, handled)
cli_sets.install(app, handled)
cli_schema.install(app, handled)
cli_forget.install(app, handled)

from . import cli_plot  # noqa: E402

cli_plot.register(app, handled)


def main(argv: list[str] | None = None) -> None:
    """The console script: the whole app inside the error boundary, exiting with its code."""
    global _debug_requested
    _debug_requested = False
    command = typer.main.get_command(app)
    args = sys.argv[1:] if argv is None else argv
    try:
        code = command.main(args=args, prog_name="larun-lake", standalone_mode=False)
    except (Exception, KeyboardInterrupt) as exc:
        # A command line that does not parse never reaches the command: --json is read from it here.
        ctx = getattr(exc, "ctx", None)
        json_command = (ui.command_name(ctx) if ctx is not None else "") if "--json" in args else None
        code = report_failure(exc, debug=_debug_requested, json_command=json_command)
    sys.exit(code if isinstance(code, int) else EXIT_OK)
