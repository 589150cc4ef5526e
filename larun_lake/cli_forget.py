"""The `forget` command: take a set, a target's light curves, a run's light curves or superseded
versions out of the lake (a thin shell over Lake.forget)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated

import typer

from . import cli_output as ui


def install(app: typer.Typer, handled: Callable) -> None:
    app.command("forget")(handled(forget_command))


def forget_command(
    ctx: typer.Context,
    set_name: Annotated[
        str | None,
        typer.Option(
            "--set",
            metavar="NAME",
            help="A materialized set: its catalog rows, and its output and "
            "manifest when the manifest beside the output says the set wrote them.",
        ),
    ] = None,
    target: Annotated[
        str | None,
        typer.Option(
            metavar="TARGET",
            help="A target's light curves, every version: 'TIC 25155310', 'KIC ...', "
            "'EPIC ...', or a JWST/HST target name; with its products.",
        ),
    ] = None,
    run: Annotated[
        str | None, typer.Option(metavar="RUN", help="The light curves a run ingested (see the runs table).")
    ] = None,
    superseded: Annotated[
        bool, typer.Option("--superseded", help="Superseded versions: their rows in _history and catalog rows.")
    ] = False,
    older_than: Annotated[
        str | None,
        typer.Option(
            "--older-than",
            metavar="AGE",
            help="With --superseded: only versions replaced at least this long ago (30d, 12h, ...).",
        ),
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Say what would go; change nothing.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Take things out of the lake, catalog rows and data files together, in one transaction: data files
    holding forgotten rows are rewritten without them, and `verify` stays clean. Forgetting the newest
    version of a light curve whose older versions stay makes the newest of those current again."""
    report = ctx.obj.lake().forget(set=set_name, target=target, run=run, superseded=superseded,
                                   older_than=older_than, dry_run=dry_run)  # fmt: skip
    if as_json:
        ui.out.print_json(json.dumps(report.to_dict(), default=str))
        return
    ui.out.print(report.summary(), highlight=False, markup=False)
