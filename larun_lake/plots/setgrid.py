"""`plot set`: a grid of the first light curves of a named materialized set (or of any LightCurveSet).

A named set is re-read the way `sets show` checks it: its recorded statement runs again with its
recorded options, so the grid shows what materializing it now gives; the title says when the lake
has changed for the set since it was made.
"""

from __future__ import annotations

import json
import math
import warnings
from typing import TYPE_CHECKING

from ..errors import UsageError
from ..materialize import BinWidthWarning, MaterializeOptions
from ..materialize.sets import set_record
from .common import GOOD, element_id, new_figure, period_label, robust_limits

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from ..api import Lake
    from ..materialize import LightCurveSet, MaterializedLightCurve

DEFAULT_MAX = 12
MAX_COLUMNS = 4


def materialize_named_set(lake: Lake, name: str) -> tuple[LightCurveSet, bool]:
    """The set as the lake gives it now, and whether that differs from the set as it was made."""
    record = set_record(lake.catalog, name)
    options = MaterializeOptions(**json.loads(record["options"]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BinWidthWarning)  # said when the set was made
        try:
            lcs = lake.materialize(
                record["sql_text"],
                flux=options.flux,
                quality=options.quality,
                remove_nans=options.remove_nans,
                normalize=options.normalize,
                bin=options.bin_s,
                stitch=options.stitch,
                stitch_prefer=list(options.stitch_prefer) or None,
            )
        except UsageError as exc:
            raise UsageError(f"set {name}: {exc.message}", hint=exc.hint) from exc
    return lcs, lcs.content_hash != record["content_hash"]


def plot_set(lake: Lake, name: str, *, max_lightcurves: int = DEFAULT_MAX) -> Figure:
    check_max(max_lightcurves)
    lcs, changed = materialize_named_set(lake, name)
    note = " · the lake has changed since the set was made" if changed else ""
    return plot_grid(lcs, max_lightcurves=max_lightcurves, title=f"set {name}", note=note)


def check_max(max_lightcurves: int) -> None:
    if not (1 <= max_lightcurves <= 100):
        raise UsageError(f"--max {max_lightcurves} is out of range", hint="show 1 to 100 light curves")


def first_units(lcs: LightCurveSet, n: int) -> list[MaterializedLightCurve]:
    """The first `n` light curves (stitched series) of the set; reading stops after the batch that holds them."""
    out: list[MaterializedLightCurve] = []
    for lc in lcs:
        out.append(lc)
        if len(out) >= n:
            break
    return out


def plot_grid(lcs: LightCurveSet, *, max_lightcurves: int = DEFAULT_MAX, title: str = "set", note: str = "") -> Figure:
    """Up to `max_lightcurves` panels, in the set's order."""
    check_max(max_lightcurves)
    units = first_units(lcs, max_lightcurves)
    if not units:
        raise UsageError(f"{title} has no light curves to plot")
    columns = min(MAX_COLUMNS, math.ceil(math.sqrt(len(units))))
    rows = math.ceil(len(units) / columns)
    fig = new_figure(3.3 * columns, 2.3 * rows + 0.6)
    # Each panel has its own y range: the stars of a set differ in depth and noise by orders of magnitude.
    axes = fig.subplots(rows, columns, squeeze=False).ravel()
    for ax in axes[len(units) :]:
        ax.remove()
    for ax, lc in zip(axes, units, strict=False):
        ax.set_gid(element_id(lc.lc_id))
        ax.plot(
            lc.time,
            lc.flux,
            ".",
            color=GOOD,
            markersize=1.0,
            rasterized=True,
            gid=element_id(lc.lc_id, "good"),
        )
        limits = robust_limits(lc.flux)
        if limits:
            ax.set_ylim(*limits)
        ax.set_title(_panel_title(lc), fontsize=7, loc="left")
        ax.tick_params(labelsize=6)
    opts = lcs.options
    shown = f"{len(units)} of {len(lcs)}" if len(units) < len(lcs) else f"{len(units)}"
    flags = [
        f"quality {opts.quality}",
        *(["normalized"] if opts.normalize else []),
        *([f"binned {opts.bin_s:g} s"] if opts.bin_s else []),
        *(["stitched"] if opts.stitch else []),
    ]
    fig.suptitle(f"{title}: {shown} light curves · {' · '.join(flags)}{note}", fontsize=10)
    fig.supxlabel("time [days, the mission's own time: BTJD, BKJD, BJD_TDB − reference]", fontsize=8)
    fig.supylabel("normalized flux" if opts.normalize else "flux", fontsize=8)
    return fig


def _panel_title(lc: MaterializedLightCurve) -> str:
    first = lc.members[0]
    where = period_label(first["period"]) if len(lc.members) == 1 else f"{len(lc.members)} periods stitched"
    return f"{lc.meta.get('LABEL') or lc.lc_id} · {first['author']} · {where}"
