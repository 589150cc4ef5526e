"""`plot lc`: one target's light curves, one panel per light curve (period, pipeline, exposure time).

Every point comes from the materialize API, so a plot shows exactly what `materialize` gives:
the kept cadences are the set materialized with the chosen quality preset; the flagged cadences
are the ones the same light curves have without a mask (`quality='none'`) that the preset drops;
the binned overlay is the set materialized with `bin=`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import kinds
from ..errors import UsageError
from ..harvest.targets import parse_target
from ..layout import period_key
from ..materialize.options import normalise_quality, parse_bin
from ..sqlfiles import load_sql
from .common import BINNED, FLAGGED, GOOD, element_id, new_figure, period_label, robust_limits

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from ..api import Lake

PANEL_HEIGHT = 2.3  # inches per panel
WIDTH = 10.0


@dataclass
class Panel:
    """One light curve as plotted: its catalog row and the points of each layer."""

    row: dict[str, Any]
    time: np.ndarray = field(default_factory=lambda: np.empty(0))
    flux: np.ndarray = field(default_factory=lambda: np.empty(0))
    flagged_time: np.ndarray = field(default_factory=lambda: np.empty(0))
    flagged_flux: np.ndarray = field(default_factory=lambda: np.empty(0))
    binned_time: np.ndarray | None = None
    binned_flux: np.ndarray | None = None


@dataclass(frozen=True)
class TargetQuery:
    """A target as the harvest commands name it, plus the optional period and author."""

    label: str
    params: dict[str, Any]


def target_query(
    target: str | int,
    *,
    sector: int | None = None,
    quarter: int | None = None,
    campaign: int | None = None,
    author: str | None = None,
) -> TargetQuery:
    """'TIC 25155310', 'KIC 10002792', 'EPIC 211117077' (an int is a TIC id), or a JWST/HST target name."""
    text = f"TIC {target}" if isinstance(target, int) else str(target)
    parsed = parse_target(text, None)
    numbers = {"sector": sector, "quarter": quarter, "campaign": campaign}
    given = {k: v for k, v in numbers.items() if v is not None}
    if len(given) > 1:
        raise UsageError(f"give one of --sector, --quarter, --campaign, not {' and '.join(given)}")
    period = None
    if given:
        ((what, number),) = given.items()
        mission = next(m for m in kinds.missions() if kinds.of_mission(m).period_column == what)
        if parsed.mission not in (None, mission):
            raise UsageError(
                f"--{what} selects {mission} light curves, but {text.strip()} is a {parsed.mission} target",
                hint=f"use --{kinds.of_mission(parsed.mission).period_column} for {parsed.mission}",
            )
        if number < 0:
            raise UsageError(f"--{what} {number} is not a {what} number")
        period = period_key(mission, number)
    params = {
        "mission": parsed.mission,
        "target_id": parsed.target_id,
        "target_name": parsed.name,
        "period": period,
        "author": author.strip() if author else None,
    }
    return TargetQuery(parsed.label, params)


def find_lightcurves(lake: Lake, query: TargetQuery) -> list[dict[str, Any]]:
    rows = lake.sql(load_sql("plots/target_lightcurves.sql"), query.params).arrow().to_pylist()
    if rows:
        return rows
    narrowed = {**query.params, "period": None, "author": None}
    others = lake.sql(load_sql("plots/target_lightcurves.sql"), narrowed).arrow().to_pylist()
    if others:
        held = sorted({f"{r['author']} {r['period']}" for r in others})
        raise UsageError(
            f"the lake holds no light curve of {query.label} with {_narrowing(query.params)}",
            hint=f"it holds {', '.join(held[:12])}{' ...' if len(held) > 12 else ''}",
        )
    raise UsageError(
        f"the lake holds no light curve of {query.label}",
        hint=f"import or harvest it first, e.g. larun-lake harvest lightcurves --targets '{query.label}'",
    )


def _narrowing(params: dict[str, Any]) -> str:
    parts = [period_label(params["period"])] if params["period"] else []
    if params["author"]:
        parts.append(f"author {params['author']}")
    return " and ".join(parts)


def _selection(rows: list[dict[str, Any]]) -> str:
    """A selection naming these light curves (ids from the catalog; quotes doubled as SQL wants)."""
    ids = ", ".join("'" + r["lc_id"].replace("'", "''") + "'" for r in rows)
    return f"SELECT lc_id FROM lightcurves WHERE lc_id IN ({ids})"


def lightcurve_panels(
    lake: Lake,
    target: str | int,
    *,
    sector: int | None = None,
    quarter: int | None = None,
    campaign: int | None = None,
    author: str | None = None,
    quality: str | int = "default",
    normalize: bool = False,
    bin: str | float | None = None,
) -> list[Panel]:
    """The points of every panel, read through `Lake.materialize`."""
    query = target_query(target, sector=sector, quarter=quarter, campaign=campaign, author=author)
    quality = normalise_quality(quality)
    width_s = parse_bin(bin)
    rows = find_lightcurves(lake, query)
    panels = {r["lc_id"]: Panel(r) for r in rows}
    selection = _selection(rows)
    norms: dict[str, float] = {}
    bitmasks: dict[str, int] = {}
    for lc in lake.materialize(selection, quality=quality, normalize=normalize):
        panel = panels[lc.lc_id]
        panel.time, panel.flux = lc.time, lc.flux
        norms[lc.lc_id] = lc.meta["NORMALIZATION"][0] if normalize else 1.0
        bitmasks[lc.lc_id] = int(lc.members[0]["bitmask"])
    if any(bitmasks.values()):
        for lc in lake.materialize(selection, quality="none"):
            dropped = (lc.quality & bitmasks[lc.lc_id]) != 0
            panel = panels[lc.lc_id]
            panel.flagged_time = lc.time[dropped]
            panel.flagged_flux = lc.flux[dropped] / np.float32(norms[lc.lc_id])
    # Bins no longer than a light curve's cadence hold one cadence each: no overlay for those.
    binnable = [r for r in rows if width_s and width_s > (r["cadence_s"] or r["exptime_s"]) * 1.001]
    if binnable:
        for lc in lake.materialize(_selection(binnable), quality=quality, normalize=normalize, bin=width_s):
            panels[lc.lc_id].binned_time, panels[lc.lc_id].binned_flux = lc.time, lc.flux
    return list(panels.values())


def plot_lightcurves(
    lake: Lake,
    target: str | int,
    *,
    sector: int | None = None,
    quarter: int | None = None,
    campaign: int | None = None,
    author: str | None = None,
    quality: str | int = "default",
    normalize: bool = False,
    bin: str | float | None = None,
) -> Figure:
    """One panel per light curve of `target`, oldest period first; y shared when normalized."""
    panels = lightcurve_panels(
        lake,
        target,
        sector=sector,
        quarter=quarter,
        campaign=campaign,
        author=author,
        quality=quality,
        normalize=normalize,
        bin=bin,
    )
    quality = normalise_quality(quality)
    fig = new_figure(WIDTH, PANEL_HEIGHT * len(panels) + 0.6)
    axes = fig.subplots(len(panels), 1, sharey=normalize, squeeze=False)[:, 0]
    for ax, panel in zip(axes, panels, strict=True):
        draw_panel(ax, panel, quality=quality, normalize=normalize, bin_s=parse_bin(bin))
        limits = kept_range(panels if normalize else [panel])
        if limits:
            ax.set_ylim(*limits)
    first = panels[0].row
    name = (
        first["target_name"]
        if first["target_id"] is None
        else f"{kinds.id_prefix(first['mission'])} {first['target_id']}"
    )
    missions = "/".join(dict.fromkeys(p.row["mission"] for p in panels))
    fig.suptitle(
        f"{name} · {missions} · {len(panels)} light curve{'s' if len(panels) > 1 else ''} · "
        f"quality {quality}{' · normalized' if normalize else ''}",
        fontsize=11,
    )
    return fig


def draw_panel(ax: Axes, panel: Panel, *, quality: str | int, normalize: bool, bin_s: float | None) -> None:
    row = panel.row
    ax.set_gid(element_id(row["lc_id"]))  # names the panel's light curve, also in SVG output
    ax.plot(
        panel.time,
        panel.flux,
        ".",
        color=GOOD,
        markersize=marker_size(len(panel.time)),
        rasterized=True,
        label=f"{len(panel.time):,} cadences",
        gid=element_id(row["lc_id"], "good"),
    )
    if len(panel.flagged_time):
        ax.plot(
            panel.flagged_time,
            panel.flagged_flux,
            "x",
            color=FLAGGED,
            markersize=2.5,
            rasterized=True,
            label=f"{len(panel.flagged_time):,} flagged ({quality} drops them)",
            gid=element_id(row["lc_id"], "flagged"),
        )
    if panel.binned_time is not None:
        ax.plot(
            *broken_at_gaps(panel.binned_time, panel.binned_flux, bin_s),
            "-",
            color=BINNED,
            linewidth=1.2,
            label=f"binned {_duration(bin_s)}",
            gid=element_id(row["lc_id"], "binned"),
        )
    cdpp = f" · CDPP(1 h) {row['cdpp_1h']:.0f} ppm" if row["cdpp_1h"] is not None else ""
    order = f" · order {row['spectral_order']}" if row["spectral_order"] is not None else ""  # JWST white light
    ax.set_title(
        f"{row['mission']} · {row['author']} · {period_label(row['period'])}{order} · {row['exptime_s']} s{cdpp}",
        fontsize=9,
        loc="left",
    )
    ax.set_xlabel(_time_label(row), fontsize=8)
    ax.ticklabel_format(axis="x", useOffset=False)  # whole days, never "+5.979e4"
    unit = row["flux_unit"] or ""
    ax.set_ylabel("normalized flux" if normalize else f"flux [{unit}]" if unit else "flux", fontsize=8)
    ax.tick_params(labelsize=7)
    # Above the panel, right of its title: never over the data.
    ax.legend(
        loc="lower right",
        bbox_to_anchor=(1.0, 1.0),
        ncols=3,
        fontsize=7,
        markerscale=3,
        frameon=False,
        borderaxespad=0.1,
        handletextpad=0.2,
        columnspacing=1.0,
    )


def marker_size(n_points: int) -> float:
    """Dots small enough for a 20,000-cadence sector, big enough to see for a 20-integration JWST visit."""
    return 2.0 if n_points > 2000 else 3.0 if n_points > 200 else 4.5


def broken_at_gaps(time: np.ndarray, flux: np.ndarray, bin_s: float | None) -> tuple[np.ndarray, np.ndarray]:
    """The binned series with a NaN wherever bins are missing, so its line is not drawn across data gaps."""
    if len(time) < 2 or not bin_s:
        return time, flux
    gaps = np.flatnonzero(np.diff(time) > 1.5 * bin_s / 86400.0) + 1
    return np.insert(time, gaps, np.nan), np.insert(flux.astype(float), gaps, np.nan)


def kept_range(panels: list[Panel]) -> tuple[float, float] | None:
    """y limits around the kept cadences of `panels`, so that flagged outliers (often far off) are clipped
    rather than flattening the light curve; None when nothing was flagged (matplotlib's own limits do)."""
    if not any(len(p.flagged_flux) for p in panels):
        return None
    return robust_limits(np.concatenate([p.flux for p in panels]))


def _time_label(row: dict[str, Any]) -> str:
    zero = (row["bjdrefi"] or 0) + (row["bjdreff"] or 0.0)
    if row["mission"] in kinds.missions():
        return f"time [{kinds.of_mission(row['mission']).time_format.upper()} = BJD − {zero:.10g}, days]"
    return f"time [BJD_TDB − {zero:.10g}, days]"


def _duration(seconds: float | None) -> str:
    if not seconds:
        return ""
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size:g} {unit}"
    return f"{seconds:g} s"
