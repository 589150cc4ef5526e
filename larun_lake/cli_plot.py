"""`larun-lake plot lc|coverage|set`: thin commands over Lake.plot, Lake.plot_coverage and Lake.plot_set.

The output's extension picks the format (png, svg, pdf). As for every output of the lake's commands, a
plot is never written inside the lake folder, nor over an existing file without --overwrite; both are
checked before anything is drawn.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import typer

from . import cli_output as ui
from .plots import DEFAULT_DPI, FORMATS, check_figure_output, save_figure

plot_app = typer.Typer(
    help="Quick looks: a target's light curves, the lake's coverage, a materialized set (PNG, SVG or PDF).",
    no_args_is_help=True,
    rich_markup_mode=None,
)

Out = Annotated[
    Path | None,
    typer.Option(
        "--out", "-o", help=f"Output file; its extension picks the format ({', '.join(FORMATS)}).", show_default=False
    ),
]
Overwrite = Annotated[bool, typer.Option(help="Replace an existing --out file.")]
Dpi = Annotated[int, typer.Option(help="Resolution of PNG output (and of the points drawn in SVG/PDF).")]


def default_name(text: str) -> Path:
    """'TIC 25155310' -> tic25155310.png in the current folder."""
    return Path(re.sub(r"[^a-z0-9._-]+", "", text.lower().replace(" ", "")) or "plot").with_suffix(".png")


def _write(ctx: typer.Context, render, out: Path, *, overwrite: bool, dpi: int, what: str) -> None:
    lake = ctx.obj.lake()
    check_figure_output(lake.path, out, overwrite=overwrite)  # before any drawing, not after it
    fig = render(lake)
    path = save_figure(fig, lake.path, out, overwrite=overwrite, dpi=dpi)
    ui.err.print(f"plot {what} -> {path}", highlight=False, markup=False)


def lc_command(
    ctx: typer.Context,
    target: Annotated[
        str, typer.Argument(help="'TIC 25155310', 'KIC 10002792', 'EPIC 211117077' or a JWST/HST target name.")
    ],
    sector: Annotated[int | None, typer.Option(help="Only this TESS sector.")] = None,
    quarter: Annotated[int | None, typer.Option(help="Only this Kepler quarter.")] = None,
    campaign: Annotated[int | None, typer.Option(help="Only this K2 campaign.")] = None,
    author: Annotated[
        str | None, typer.Option(help="Only this pipeline (SPOC, TESS-SPOC, QLP, Kepler, K2, ...).")
    ] = None,
    quality: Annotated[
        str,
        typer.Option(
            help="Quality preset (none, default, hard, hardest) or an integer bitmask; the cadences "
            "it drops are marked in red."
        ),
    ] = "default",
    normalize: Annotated[
        bool, typer.Option("--normalize", help="Divide each light curve by its median flux; panels share the y axis.")
    ] = False,
    bin: Annotated[
        str | None, typer.Option("--bin", help="Overlay the light curve binned to this width: 30m, 2h, or seconds.")
    ] = None,
    out: Out = None,
    overwrite: Overwrite = False,
    dpi: Dpi = DEFAULT_DPI,
) -> None:
    """One panel per light curve of a target (period, pipeline, exposure time): flux, flagged cadences marked,
    an optional binned overlay; titles give mission, author, period and CDPP. Default --out: <target>.png."""
    out = out or default_name(target)
    _write(
        ctx,
        lambda lake: lake.plot(
            target,
            sector=sector,
            quarter=quarter,
            campaign=campaign,
            author=author,
            quality=quality,
            normalize=normalize,
            bin=bin,
        ),
        out,
        overwrite=overwrite,
        dpi=dpi,
        what=f"lc {target}",
    )


def coverage_command(ctx: typer.Context, out: Out = None, overwrite: Overwrite = False, dpi: Dpi = DEFAULT_DPI) -> None:
    """The lake's targets on the sky (Mollweide) coloured by their number of periods, and a bar chart of light
    curves per sector/quarter/campaign and author. Default --out: coverage.png."""
    _write(
        ctx,
        lambda lake: lake.plot_coverage(),
        out or Path("coverage.png"),
        overwrite=overwrite,
        dpi=dpi,
        what="coverage",
    )


def set_command(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The set's name (see 'larun-lake sets list').")],
    max_lightcurves: Annotated[int, typer.Option("--max", help="Light curves shown, at most (1 to 100).")] = 12,
    out: Out = None,
    overwrite: Overwrite = False,
    dpi: Dpi = DEFAULT_DPI,
) -> None:
    """A grid of the first light curves of a named materialized set, re-read with its recorded selection and
    options (the title says when the lake has changed for it). Default --out: <name>.png."""
    _write(
        ctx,
        lambda lake: lake.plot_set(name, max_lightcurves=max_lightcurves),
        out or default_name(name),
        overwrite=overwrite,
        dpi=dpi,
        what=f"set {name}",
    )


def register(app: typer.Typer, handled) -> None:
    """Add `plot lc|coverage|set` to `app`, each inside the error boundary."""
    plot_app.command("lc")(handled(lc_command))
    plot_app.command("coverage")(handled(coverage_command))
    plot_app.command("set")(handled(set_command))
    app.add_typer(plot_app, name="plot")
