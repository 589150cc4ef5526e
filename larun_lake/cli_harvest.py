"""`larun-lake harvest tic|lightcurves|pixels|cutouts|observations|products`: thin commands over Lake.harvest_*."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from . import cli_output as ui
from .cli_clock import command_seconds
from .errors import EXIT_INTERRUPTED, EXIT_OK, EXIT_PARTIAL, UsageError

harvest_app = typer.Typer(
    help="Harvest TIC rows, light curves, target pixel files, TESScut cutouts and observations/products of any "
    "MAST collection (HST, JWST) into the lake.",
    no_args_is_help=True,
)

MastUrl = Annotated[str | None, typer.Option("--mast-url", help="MAST address (env LARUN_LAKE_MAST_URL).")]
Aperture = Annotated[
    str,
    typer.Option(
        help="Pixels summed into the light curve: default (the pipeline aperture, else lightkurve's threshold "
        "mask), pipeline, threshold, all, or a mask file (.npy, or a text grid of 0/1, rows x columns)."
    ),
]
Targets = Annotated[
    list[str] | None,
    typer.Option(help="Targets: 'TIC 307210830', 'KIC 11904151', 'EPIC 211117077' or names; repeat or comma-separate."),
]
TargetsFile = Annotated[Path | None, typer.Option(help="File with one target per line.")]
FromSql = Annotated[str | None, typer.Option(help="SQL returning a column id, tic_id or target_id.")]
Workers = Annotated[int, typer.Option(help="Concurrent downloads.")]
DryRun = Annotated[bool, typer.Option("--dry-run", help="Only say what would be fetched.")]
RetryQuarantined = Annotated[bool, typer.Option(help="Fetch quarantined products again.")]


def _read_lines(path: Path | None) -> list[str]:
    if path is None:
        return []
    try:
        return [
            line.split("#", 1)[0].strip() for line in path.read_text().splitlines() if line.split("#", 1)[0].strip()
        ]
    except OSError as exc:
        raise UsageError(f"{path}: cannot read ({exc.strerror})", hint="check the path") from exc


def register(app: typer.Typer, handled) -> None:
    @harvest_app.command("tic")
    @handled
    def tic(
        ctx: typer.Context,
        ids: Annotated[str | None, typer.Option(help="TIC ids, comma-separated.")] = None,
        ids_file: Annotated[Path | None, typer.Option(help="File with one TIC id per line.")] = None,
        cone: Annotated[
            tuple[float, float, float] | None, typer.Option(help="Cone centre (RA, Dec) and radius, in degrees.")
        ] = None,
        where: Annotated[
            str | None,
            typer.Option(help="Range criteria on TIC columns, e.g. 'Tmag < 9 AND Teff BETWEEN 3000 AND 4000'."),
        ] = None,
        mast_url: MastUrl = None,
        as_json: ui.AsJson = False,
    ) -> None:
        """TIC rows by ids, in a cone, or by criteria, into the lake's `tic` table (one row per TIC id)."""
        from .harvest.tic import parse_ids

        texts = ([ids] if ids else []) + _read_lines(ids_file)
        id_list = parse_ids(texts) if (ids is not None or ids_file is not None) else None
        report = ctx.obj.lake().harvest_tic(ids=id_list, cone=cone, where=where, mast_url=mast_url)
        code = EXIT_OK if report.ok else EXIT_PARTIAL
        if as_json:
            ui.print_report_json(ui.command_name(ctx), report, exit_code=code)
            raise typer.Exit(code)
        if report.not_found:
            shown = ", ".join(str(i) for i in report.not_found[:10]) + (" ..." if len(report.not_found) > 10 else "")
            ui.err.print(f"not found at MAST: {len(report.not_found)} TIC id(s): {shown}", highlight=False)
        missing = f", {len(report.not_found)} not found" if report.not_found else ""
        ui.err.print(
            f"harvest tic {report.run_id}: {report.fetched} rows ({report.new} new, {report.replaced} "
            f"replaced{missing}), {report.requests} MAST requests, in {command_seconds():.1f} s",
            highlight=False,
        )
        raise typer.Exit(code)

    @harvest_app.command("lightcurves")
    @handled
    def lightcurves(
        ctx: typer.Context,
        targets: Annotated[
            list[str] | None,
            typer.Option(
                help="Targets: 'TIC 307210830', 'KIC 11904151', 'EPIC 211117077' or names; repeat or comma-separate."
            ),
        ] = None,
        targets_file: Annotated[Path | None, typer.Option(help="File with one target per line.")] = None,
        from_sql: Annotated[str | None, typer.Option(help="SQL returning a column id, tic_id or target_id.")] = None,
        mission: Annotated[list[str] | None, typer.Option(help="TESS, Kepler or K2 (repeatable; default all).")] = None,
        author: Annotated[
            list[str] | None, typer.Option(help="SPOC, TESS-SPOC, QLP, Kepler or K2 (repeatable).")
        ] = None,
        exptime: Annotated[
            float | None, typer.Option(help="Exposure time in seconds (20, 120, 200, 600, 1800, 60).")
        ] = None,
        sectors: Annotated[str | None, typer.Option(help="TESS sectors, e.g. 1-13 or 1,2,5.")] = None,
        quarters: Annotated[str | None, typer.Option(help="Kepler quarters, e.g. 1-17.")] = None,
        campaigns: Annotated[str | None, typer.Option(help="K2 campaigns, e.g. 0-19.")] = None,
        workers: Annotated[int, typer.Option(help="Concurrent downloads.")] = 8,
        dry_run: Annotated[
            bool, typer.Option("--dry-run", help="Only say what would be fetched: count and bytes.")
        ] = False,
        offline: Annotated[
            bool, typer.Option("--offline", help="Answer from remembered searches; no network.")
        ] = False,
        max_age: Annotated[
            str | None, typer.Option(help="Reuse searches younger than this (e.g. 7d, 12h) without asking MAST.")
        ] = None,
        keep_fits: Annotated[
            bool, typer.Option("--keep-fits", help="Keep the FITS files under <lake>/raw (MAST's layout).")
        ] = False,
        retry_quarantined: Annotated[bool, typer.Option(help="Fetch quarantined products again.")] = False,
        mast_url: MastUrl = None,
        as_json: ui.AsJson = False,
    ) -> None:
        """Light curves from MAST: one search for many targets, concurrent verified downloads, ingest; resumable."""
        state = ctx.obj
        texts = list(targets or []) + _read_lines(targets_file)
        enabled = not state.quiet and sys.stderr.isatty()
        with ui.harvest_progress(enabled=enabled) as progress:
            report = state.lake().harvest_lightcurves(
                texts,
                from_sql=from_sql,
                mission=mission,
                author=author,
                exptime=exptime,
                sectors=sectors,
                quarters=quarters,
                campaigns=campaigns,
                workers=workers,
                dry_run=dry_run,
                offline=offline,
                max_age=max_age,
                keep_fits=keep_fits,
                retry_quarantined=retry_quarantined,
                mast_url=mast_url,
                progress=progress,
            )
        _print_report(ctx, report, dry_run=dry_run, offline=offline, what="light-curve", as_json=as_json)

    @harvest_app.command("pixels")
    @handled
    def pixels(
        ctx: typer.Context,
        targets: Targets = None,
        targets_file: TargetsFile = None,
        from_sql: FromSql = None,
        mission: Annotated[list[str] | None, typer.Option(help="TESS, Kepler or K2 (repeatable; default all).")] = None,
        author: Annotated[list[str] | None, typer.Option(help="SPOC, Kepler or K2 (repeatable).")] = None,
        exptime: Annotated[float | None, typer.Option(help="Exposure time in seconds (20, 120, 60, 1800).")] = None,
        sectors: Annotated[str | None, typer.Option(help="TESS sectors, e.g. 1-13 or 1,2,5.")] = None,
        quarters: Annotated[str | None, typer.Option(help="Kepler quarters, e.g. 1-17.")] = None,
        campaigns: Annotated[str | None, typer.Option(help="K2 campaigns, e.g. 0-19.")] = None,
        aperture: Aperture = "default",
        workers: Workers = 8,
        dry_run: DryRun = False,
        retry_quarantined: RetryQuarantined = False,
        mast_url: MastUrl = None,
        as_json: ui.AsJson = False,
    ) -> None:
        """Pipeline target pixel files (SPOC, Kepler, K2): one search for many targets, verified downloads, kept
        in the lake's raw area, each with its light curve; resumable."""
        state = ctx.obj
        texts = list(targets or []) + _read_lines(targets_file)
        enabled = not state.quiet and sys.stderr.isatty()
        with ui.harvest_progress(enabled=enabled) as progress:
            report = state.lake().harvest_pixels(
                texts, from_sql=from_sql, mission=mission, author=author, exptime=exptime, sectors=sectors,
                quarters=quarters, campaigns=campaigns, aperture=aperture, workers=workers, dry_run=dry_run,
                retry_quarantined=retry_quarantined, mast_url=mast_url, progress=progress,
            )
        _print_report(ctx, report, dry_run=dry_run, offline=False, what="target pixel", as_json=as_json)

    @harvest_app.command("cutouts")
    @handled
    def cutouts(
        ctx: typer.Context,
        targets: Targets = None,
        targets_file: TargetsFile = None,
        from_sql: FromSql = None,
        size: Annotated[str, typer.Option(help="Cutout size in pixels: 11, or columns x rows: 11x15.")] = "11",
        sectors: Annotated[str | None, typer.Option(help="TESS sectors, e.g. 1-13 or 1,2,5 (default: all).")] = None,
        aperture: Aperture = "default",
        workers: Workers = 8,
        dry_run: DryRun = False,
        retry_quarantined: RetryQuarantined = False,
        mast_url: MastUrl = None,
        as_json: ui.AsJson = False,
    ) -> None:
        """TESScut cutouts of TESS full-frame images around targets, one per sector, kept in the lake's raw area,
        each with its light curve (author TESScut); asking again with the same size fetches nothing."""
        state = ctx.obj
        texts = list(targets or []) + _read_lines(targets_file)
        enabled = not state.quiet and sys.stderr.isatty()
        with ui.harvest_progress(enabled=enabled) as progress:
            report = state.lake().harvest_cutouts(
                texts, from_sql=from_sql, size=size, sectors=sectors, aperture=aperture, workers=workers,
                dry_run=dry_run, retry_quarantined=retry_quarantined, mast_url=mast_url, progress=progress,
            )
        _print_report(ctx, report, dry_run=dry_run, offline=False, what="cutout", as_json=as_json)

    @harvest_app.command("observations")
    @handled
    def observations(
        ctx: typer.Context,
        collection: Annotated[list[str] | None, typer.Option(help="MAST collection: JWST, HST, ... (repeatable).")] = None,
        instrument: Annotated[list[str] | None, typer.Option(help="instrument_name, e.g. NIRISS/SOSS, COS/FUV.")] = None,
        proposal: Annotated[list[str] | None, typer.Option(help="Proposal id, e.g. 2734.")] = None,
        target: Annotated[list[str] | None, typer.Option(help="MAST target_name, e.g. WASP-39 (repeat or comma-separate).")] = None,
        cone: Annotated[tuple[float, float, float] | None, typer.Option(help="Cone centre (RA, Dec) and radius, in degrees.")] = None,
        type: Annotated[list[str] | None, typer.Option("--type", help="dataproduct_type: timeseries, spectrum, image, cube.")] = None,
        calib_level: Annotated[list[int] | None, typer.Option(help="Calibration level (1-4).")] = None,
        download: Annotated[str | None, typer.Option(help="Fetch products with these suffixes, e.g. x1dints,whtlt.")] = None,
        mrp: Annotated[bool, typer.Option("--mrp", help="Fetch MAST's minimum recommended products.")] = False,
        workers: Workers = 8,
        dry_run: DryRun = False,
        offline: Annotated[bool, typer.Option("--offline", help="Use the remembered search only.")] = False,
        max_age: Annotated[str | None, typer.Option(help="Reuse a search made within this age (7d, 12h).")] = None,
        keep_fits: Annotated[bool, typer.Option("--keep-fits", help="Keep converted downloads in the raw area.")] = False,
        retry_quarantined: RetryQuarantined = False,
        mast_url: MastUrl = None,
        as_json: ui.AsJson = False,
    ) -> None:
        """Observations of any MAST collection (HST, JWST, ...) and their products: one search, every
        observation and product recorded; --download SUFFIX,... or --mrp fetches and ingests products."""
        state = ctx.obj
        enabled = not state.quiet and sys.stderr.isatty()
        with ui.harvest_progress(enabled=enabled) as progress:
            report = state.lake().harvest_observations(
                collection=collection, instrument=instrument, proposal=proposal, target=target, type=type,
                calib_level=calib_level, cone=cone, download=download, mrp=mrp, workers=workers, dry_run=dry_run,
                offline=offline, max_age=max_age, keep_fits=keep_fits, retry_quarantined=retry_quarantined,
                mast_url=mast_url, progress=progress,
            )
        _print_report(ctx, report, dry_run=dry_run, offline=offline, what="selected", as_json=as_json)

    @harvest_app.command("products")
    @handled
    def products(
        ctx: typer.Context,
        obsid: Annotated[list[str] | None, typer.Option(help="Observation obsids (repeat or comma-separate).")] = None,
        from_sql: Annotated[str | None, typer.Option(help="SQL returning a column obsid.")] = None,
        suffix: Annotated[str | None, typer.Option(help="Product suffixes to fetch, e.g. x1dints,whtlt.")] = None,
        mrp: Annotated[bool, typer.Option("--mrp", help="Fetch MAST's minimum recommended products.")] = False,
        workers: Workers = 8,
        dry_run: DryRun = False,
        offline: Annotated[bool, typer.Option("--offline", help="Use the products the lake has listed.")] = False,
        keep_fits: Annotated[bool, typer.Option("--keep-fits", help="Keep converted downloads in the raw area.")] = False,
        retry_quarantined: RetryQuarantined = False,
        mast_url: MastUrl = None,
        as_json: ui.AsJson = False,
    ) -> None:
        """Products of observations named by obsid or SQL, by suffix or --mrp: fetched, verified, ingested."""
        state = ctx.obj
        enabled = not state.quiet and sys.stderr.isatty()
        with ui.harvest_progress(enabled=enabled) as progress:
            report = state.lake().harvest_products(
                obsid, from_sql=from_sql, suffix=suffix, mrp=mrp, workers=workers, dry_run=dry_run,
                offline=offline, keep_fits=keep_fits, retry_quarantined=retry_quarantined, mast_url=mast_url,
                progress=progress,
            )
        _print_report(ctx, report, dry_run=dry_run, offline=offline, what="selected", as_json=as_json)

    app.add_typer(harvest_app, name="harvest")


def _print_report(ctx: typer.Context, report, *, dry_run: bool, offline: bool, what: str, as_json: bool) -> None:
    state = ctx.obj
    listing_only = dry_run or offline  # nothing fetched: the plan is the result
    if listing_only:
        code = EXIT_OK
    else:
        code = EXIT_INTERRUPTED if report.interrupted else EXIT_OK if report.ok else EXIT_PARTIAL
    if as_json:
        unrecorded = {"run_id": None} if dry_run else {}  # a dry run records no run
        ui.print_report_json(ui.command_name(ctx), report, exit_code=code, dry_run=dry_run, offline=offline,
                             **unrecorded)
        raise typer.Exit(code)
    if report.unknown_targets:
        ui.err.print(
            f"offline: {len(report.unknown_targets)} target(s) were never searched: "
            + ", ".join(report.unknown_targets[:5]),
            highlight=False,
        )
    held = f"{report.in_lake} already in the lake, " if report.in_lake else ""
    if report.n_observations:
        ui.err.print(f"{report.n_observations} observations recorded, listing {report.n_listed} products",
                     highlight=False)
    on_disk = f", {report.reused} complete on disk" if report.reused else ""
    if listing_only:
        ui.out.print(
            f"{report.n_products} {what} products listed, {held}{report.n_to_fetch} to fetch "
            f"({ui.human_bytes(report.bytes_to_fetch)}){on_disk}",
            highlight=False,
        )
        raise typer.Exit(code)
    for where, status, reason in report.problems:
        if status != "skipped" or not state.quiet:
            ui.err.print(f"{status}: {where}: {reason}", highlight=False, markup=False)
    seconds = command_seconds()
    rate = (report.ingested + report.unchanged) / seconds if seconds else 0.0
    ui.err.print(
        f"harvest {report.run_id}: {report.n_products} products listed, {held}{report.downloaded} fetched "
        f"({ui.human_bytes(report.bytes_downloaded)}){on_disk}; {report.ingested} ingested ({report.superseded} "
        f"superseding), {report.unchanged} unchanged, {report.skipped} skipped, {report.quarantined} "
        f"quarantined, {report.failed} failed; {report.metadata_requests + report.download_requests} MAST "
        f"requests, in {seconds:.1f} s ({rate:.1f} light curves/s)",
        highlight=False,
        markup=False,
    )
    raise typer.Exit(code)
