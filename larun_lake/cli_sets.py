"""The `materialize` and `sets` commands: thin shells over larun_lake.materialize.

`install(app, handled)` registers them on the main Typer app inside its error boundary.
--fetch-missing hands the targets the lake lacks to `fetcher_factory(lake, options)`; by default
that harvests them with Lake.harvest_lightcurves, passing --mission/--author/--exptime on.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from . import cli_output as ui
from .cli_sqltext import print_examples, sql_text
from .config import memory_limit as parse_memory_limit
from .errors import EXIT_OK, EXIT_PARTIAL, UsageError
from .kinds import id_prefix
from .materialize import FORMATS, BinWidthWarning, Fetcher, list_sets, materialize, set_status
from .materialize.output import check_target

# (lake, {"mission", "author", "exptime"}) -> a callback fetching (mission, target_id) pairs.
FetcherFactory = Callable[[Any, dict[str, Any]], Fetcher]


def harvest_fetcher(lake: Any, options: dict[str, Any]) -> Fetcher:
    """Harvest (mission, target_id) pairs from MAST, with the command's --mission/--author/--exptime."""

    def fetch(pairs: list[tuple[str, int]]) -> None:
        targets = [f"{id_prefix(mission, default='TIC')} {target}" for mission, target in pairs]
        missions = options.get("mission") or sorted({mission for mission, _ in pairs})
        report = lake.harvest_lightcurves(
            targets, mission=missions, author=options.get("author"), exptime=options.get("exptime")
        )
        ui.err.print(
            f"fetch-missing: {len(pairs)} target(s) not in the lake; harvested {report.ingested} light curve(s)",
            highlight=False,
            markup=False,
        )

    return fetch


fetcher_factory: FetcherFactory = harvest_fetcher

sets_app = typer.Typer(
    help="Materialized sets: list them, or check whether the lake changed for one.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


def install(app: typer.Typer, handled: Callable, *, fetchers: FetcherFactory | None = None) -> None:
    """Register `materialize` and `sets list|show` on `app`, each wrapped by the error boundary."""
    global fetcher_factory
    if fetchers is not None:
        fetcher_factory = fetchers
    app.command("materialize")(handled(materialize_command))
    sets_app.command("list")(handled(sets_list_command))
    sets_app.command("show")(handled(sets_show_command))
    app.add_typer(sets_app, name="sets")


def materialize_command(
    ctx: typer.Context,
    query: Annotated[
        str | None, typer.Argument(help="A SELECT returning lc_id, or tic_id, or mission and target_id.")
    ] = None,
    file: Annotated[
        Path | None, typer.Option("--file", "-f", help="Read the selection from a .sql file (- for stdin).")
    ] = None,
    example: Annotated[
        str | None, typer.Option(help="Use a shipped example selection by name ('list' lists them).")
    ] = None,
    out: Annotated[
        str | None,
        typer.Option("--out", "-o", help="Output file (a folder for lightkurve-fits): a path or s3://BUCKET/KEY."),
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help=f"Output format: {', '.join(FORMATS)}.")] = "parquet",
    flux: Annotated[
        str, typer.Option(help="auto (lightkurve's default column), pdcsap, sap, or a flux column.")
    ] = "auto",
    quality: Annotated[
        str, typer.Option(help="Quality preset (none, default, hard, hardest) or an integer bitmask.")
    ] = "default",
    normalize: Annotated[
        bool | None,
        typer.Option(
            "--normalize/--no-normalize",
            help="Divide each light curve by its median flux (default: off, on with --stitch).",
            show_default=False,
        ),
    ] = None,
    remove_nans: Annotated[
        bool, typer.Option("--remove-nans/--keep-nans", help="Drop NaN-flux cadences (NaN times always go).")
    ] = True,
    bin: Annotated[
        str | None,
        typer.Option(
            "--bin",
            help="Bin each light curve: seconds, or 10min, 2h, ... (positive). A width shorter than the "
            "cadence of some light curves is allowed, since a set may mix 2-min and 30-min data, "
            "but prints a warning naming those cadences: their bins hold one cadence each.",
        ),
    ] = None,
    stitch: Annotated[
        bool,
        typer.Option(
            help="Join each target's light curves of one pipeline and exposure time into one series "
            "sorted by time, each part normalized by its own median (as lightkurve's stitch). "
            "Pipelines and cadences are never merged: a star with SPOC 2-min and QLP 30-min data "
            "gives two series."
        ),
    ] = False,
    stitch_prefer: Annotated[
        str | None,
        typer.Option(
            "--stitch-prefer",
            metavar="KINDS",
            help="Stitch, per target, only the first of these kinds it has, e.g. SPOC:120,TESS-SPOC,QLP "
            "(AUTHOR or AUTHOR:EXPTIME_S); targets with none of them are left out. Implies --stitch.",
        ),
    ] = None,
    name: Annotated[
        str | None, typer.Option(help="Name of the set in the catalog (default: the output's stem).")
    ] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing output and set of that name.")] = False,
    fetch_missing: Annotated[
        bool, typer.Option("--fetch-missing", help="Harvest selected targets the lake lacks, then select again.")
    ] = False,
    mission: Annotated[str | None, typer.Option(help="With --fetch-missing: mission to fetch.")] = None,
    author: Annotated[str | None, typer.Option(help="With --fetch-missing: pipeline (SPOC, QLP, ...).")] = None,
    exptime: Annotated[int | None, typer.Option(help="With --fetch-missing: exposure time in seconds.")] = None,
    threads: Annotated[int | None, typer.Option(help="Threads for reading and DuckDB (default: all cores).")] = None,
    memory_limit: Annotated[str | None, typer.Option(help="DuckDB memory limit, e.g. 2GB.")] = None,
    as_json: ui.AsJson = False,
) -> None:
    """Materialize the light curves a SELECT names: quality-masked, NaN-free, optionally normalized,
    binned or stitched, written with a manifest and recorded as a named set."""
    if example == "list":
        print_examples()
        return
    sql = sql_text(query, file, example, what="SELECT", command="materialize")
    memory_limit = parse_memory_limit(memory_limit) if memory_limit is not None else None
    if out is None:
        raise UsageError("--out is required", hint="e.g. --out msets/mdwarfs.parquet")
    state = ctx.obj
    lake = state.lake()
    check_target(out, lake.layout, format=fmt, overwrite=overwrite)  # before any work, not after it
    fetcher = None
    if fetch_missing:
        fetcher = fetcher_factory(lake, {"mission": mission, "author": author, "exptime": exptime})
    elif mission or author or exptime:
        raise UsageError("--mission, --author and --exptime go with --fetch-missing")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", BinWidthWarning)
        lcs = materialize(
            lake,
            sql,
            flux=flux,
            quality=quality,
            remove_nans=remove_nans,
            normalize=normalize,
            bin=bin,
            stitch=stitch,
            stitch_prefer=stitch_prefer,
            fetcher=fetcher,
            threads=threads,
            memory_limit=memory_limit,
        )
    for item in caught:
        if issubclass(item.category, BinWidthWarning):
            ui.err.print(f"warning: {item.message}", highlight=False, markup=False)
        else:
            warnings.showwarning(item.message, item.category, item.filename, item.lineno)
    if lcs.options.stitch and not as_json:
        n_lc = lcs.members.num_rows
        left_out = lcs.selection.n_not_preferred
        ui.err.print(
            f"stitch: {n_lc} light curves stitched into {len(lcs)} series (one per target, pipeline and exposure time)"
            + (f"; {left_out} light curve(s) left out by --stitch-prefer" if left_out else ""),
            highlight=False,
            markup=False,
        )
    result = lcs.write(out, format=fmt, overwrite=overwrite, name=name)
    if as_json:
        stitch = {"stitched_lightcurves": lcs.members.num_rows, "left_out": lcs.selection.n_not_preferred}
        ui.print_report_json(
            ui.command_name(ctx),
            result,
            exit_code=EXIT_OK,
            warnings=[str(w.message) for w in caught if issubclass(w.category, BinWidthWarning)],
            **(stitch if lcs.options.stitch else {}),
        )
        return
    ui.err.print(
        f"materialized set {result.name}: {result.n_lightcurves} light curves, {result.n_rows} cadences -> "
        f"{result.path} ({result.format}) in {result.seconds:.1f} s; hash {result.content_hash[:16]}; "
        f"manifest {result.manifest_path}",
        highlight=False,
        markup=False,
    )


def sets_list_command(
    ctx: typer.Context,
    fmt: Annotated[str, typer.Option("--format", help=f"Output format: {', '.join(ui.FORMATS)}.")] = "table",
    as_json: ui.AsJson = False,
) -> None:
    """Named materialized sets of the lake, newest first."""
    if fmt not in ui.FORMATS or fmt == "parquet":
        raise UsageError(f"unknown --format {fmt!r}", hint="use table, csv, json, jsonl or markdown")
    table = list_sets(ctx.obj.lake().catalog)
    if as_json:
        ui.print_table_json(ui.command_name(ctx), "sets", table)
        return
    ui.print_rows(table, fmt, more="use --format csv")


def sets_show_command(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The set's name (see 'larun-lake sets list').")],
    as_json: ui.AsJson = False,
) -> None:
    """Re-run a set's selection and say whether the lake has changed for it (new versions, light
    curves added or gone). Exit code 0 when the set is unchanged, 1 when it changed (or its
    selection no longer runs), 2 when no set has that name, so scripts can test it."""
    status = set_status(ctx.obj.lake().catalog, name)
    code = EXIT_PARTIAL if status.changed else EXIT_OK
    if as_json:
        ui.print_report_json(ui.command_name(ctx), status, exit_code=code)
        raise typer.Exit(code)
    record = status.record
    lines = [
        f"set {record['name']}: {record['n_lightcurves']} light curves, {record['n_rows']} cadences, "
        f"{record['output_format']} at {record['output_path']}",
        f"  made {record['created_at']}; hash {record['content_hash']}",
        f"  selection: {' '.join(record['sql_text'].split())}",
        f"  options: {record['options']}",
        status.summary(),
    ]
    for item in status.superseded:
        lines.append(
            f"  newer version: {item['lc_id']} data release {item['old_data_rel']} -> {item['new_data_rel']} "
            f"({item['old_sha256'][:12]} -> {item['new_sha256'][:12]})"
        )
    lines += [f"  now selected: {lc}" for lc in status.added]
    lines += [f"  gone: {lc}" for lc in status.removed]
    for line in lines:
        ui.out.print(line, highlight=False, markup=False)
    raise typer.Exit(code)
